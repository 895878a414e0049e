// A row's actions behind one button (a disclosure: the button says whether
// the list is open, Escape or a click elsewhere closes it, and focus goes
// back to the button). Each item is an ordinary button.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export interface MenuItem {
  label: string;
  onSelect: () => void;
  danger?: boolean;
}

export function ActionsMenu({ label, items }: { label: string; items: MenuItem[] }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const away = (event: MouseEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    const escape = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener('mousedown', away);
    document.addEventListener('keydown', escape);
    root.current?.querySelector<HTMLButtonElement>('.menu-items button')?.focus();
    return () => {
      document.removeEventListener('mousedown', away);
      document.removeEventListener('keydown', escape);
    };
  }, [open]);
  if (items.length === 0) return null;
  return (
    <div class="menu" ref={root}>
      <button
        type="button"
        class="secondary small"
        ref={button}
        aria-expanded={open}
        aria-label={label}
        onClick={() => setOpen(!open)}
      >
        Actions <span aria-hidden="true">▾</span>
      </button>
      {open && (
        <ul class="menu-items">
          {items.map((item) => (
            <li key={item.label}>
              <MenuButton
                item={item}
                onDone={() => {
                  setOpen(false);
                  item.onSelect();
                }}
              />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function MenuButton({ item, onDone }: { item: MenuItem; onDone: () => void }): ComponentChildren {
  return (
    <button type="button" class={item.danger ? 'menu-item danger-text' : 'menu-item'} onClick={onDone}>
      {item.label}
    </button>
  );
}
