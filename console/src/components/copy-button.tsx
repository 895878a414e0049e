import { useEffect, useState } from 'preact/hooks';

/** Copies `text` to the clipboard and says so where a screen reader hears it. */
export function CopyButton({ text, label, class: className }: { text: string; label: string; class?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  // "Copied" says so for a moment, then gives its room back.
  useEffect(() => {
    if (state !== 'copied') return;
    const done = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(done);
  }, [state]);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
  }
  return (
    <span class={`copy ${className ?? ''}`}>
      <button type="button" class="secondary small" onClick={copy} aria-label={label}>
        Copy
      </button>
      <span role="status" class="copy-status">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </span>
  );
}
