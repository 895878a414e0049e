//! Pagination: a bounded page size and an opaque cursor.

use crate::{InvalidValue, PrefixedId};

/// How many items one page holds: 1 to 100, 25 unless asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u16);

impl PageLimit {
    pub const MAX: u16 = 100;
    /// The largest page: what background jobs read with.
    pub const LARGEST: PageLimit = PageLimit(Self::MAX);

    pub fn parse(raw: i64) -> Result<Self, InvalidValue> {
        match u16::try_from(raw) {
            Ok(n @ 1..=Self::MAX) => Ok(Self(n)),
            _ => Err(InvalidValue::OutOfRange {
                min: 1,
                max: Self::MAX.into(),
            }),
        }
    }

    pub fn get(self) -> usize {
        self.0.into()
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(25)
    }
}

/// Where the next page starts: after the item with this id. Clients see it as an
/// opaque token; only our own prefix and the id's shape are accepted back, and
/// the tenant is never in it (it always comes from the verified identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<Id> {
    after: Id,
}

const CURSOR_VERSION: &str = "c1.";

impl<Id: PrefixedId> Cursor<Id> {
    pub fn after(id: Id) -> Self {
        Self { after: id }
    }

    pub fn last_seen(&self) -> &Id {
        &self.after
    }

    /// The token given to clients: a version tag and the id in hex pairs, so it
    /// reads as opaque and can change shape later behind the version.
    pub fn encode(&self) -> String {
        let hex: String = self
            .after
            .as_str()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{CURSOR_VERSION}{hex}")
    }

    pub fn decode(token: &str) -> Result<Self, InvalidValue> {
        const BAD: InvalidValue = InvalidValue::Malformed("is not a cursor this API gave out");
        let hex = token.strip_prefix(CURSOR_VERSION).ok_or(BAD)?.as_bytes();
        if hex.len() % 2 != 0 || hex.len() > 256 {
            return Err(BAD);
        }
        // Pairs of bytes, never slices of the text: a client's cursor may hold
        // any characters, and a byte index inside one would panic.
        let bytes = hex
            .chunks_exact(2)
            .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or(BAD)?;
        let text = String::from_utf8(bytes).map_err(|_| BAD)?;
        Id::parse(&text).map(Self::after).map_err(|_| BAD)
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// One page of a list, newest first, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, Id> {
    pub items: Vec<T>,
    pub next: Option<Cursor<Id>>,
}

impl<T, Id> Page<T, Id> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U, Id> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiKeyId, ArxId};

    #[test]
    fn limits_are_one_to_a_hundred() {
        assert_eq!(PageLimit::default().get(), 25);
        assert!(PageLimit::parse(0).is_err());
        assert!(PageLimit::parse(101).is_err());
        assert_eq!(PageLimit::parse(100).map(PageLimit::get), Ok(100));
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let cursor = Cursor::after(ApiKeyId::new());
        assert_eq!(
            Cursor::<ApiKeyId>::decode(&cursor.encode()),
            Ok(cursor.clone())
        );
        assert!(Cursor::<ArxId>::decode(&cursor.encode()).is_err());
        for bad in [
            "", "c1.", "c1.zz", "c1.6", "v9.00", "garbage", "c1.é", "c1.aéa", "c1.+1", "c1.-1",
        ] {
            assert!(Cursor::<ApiKeyId>::decode(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(token in "\\PC*", tail in "(c1\\.)?[0-9a-fé]{0,40}") {
            let _ = Cursor::<ApiKeyId>::decode(&token);
            let _ = Cursor::<ApiKeyId>::decode(&tail);
        }

        #[test]
        fn any_cursor_we_give_out_decodes(_n in 0u8..4) {
            let cursor = Cursor::after(ApiKeyId::new());
            proptest::prop_assert_eq!(Cursor::<ApiKeyId>::decode(&cursor.encode()), Ok(cursor));
        }
    }
}
