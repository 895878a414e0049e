//! What a key may do: a set of permission names, and the query a verify
//! asks of them (`documents.read AND (billing.write OR admin)`).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

/// One permission name: 1 to 100 ASCII letters, digits and `. _ : -`,
/// starting with a letter or digit (`documents.read`, `billing:write`).
/// Case matters (`Admin` is not `admin`). The words `AND` and `OR` (in any
/// case) are the query's operators, so they are not names.
///
/// A key's permission may also be a wildcard: a name followed by `.*`
/// (`documents.*`), which grants every name that starts with that name and a
/// dot (`documents.read`, `documents.drafts.read`; not `documents` itself, nor
/// `documentsX.read`). A query never holds one: it names what a request
/// needs, and "needs something under documents" is no permission check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Permission(String);

impl Permission {
    pub const MAX_CHARS: usize = 100;
    pub const GRAMMAR: &'static str = "must be 1 to 100 letters, digits and . _ : - (ASCII), \
        starting with a letter or digit, and not the word AND or OR; a key's permission may \
        end in .* (every name under it)";

    /// What ends a wildcard grant.
    const WILDCARD: &'static str = ".*";

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if let Some(prefix) = raw.strip_suffix(Self::WILDCARD) {
            // `documents.*`: the name before it must be a name of its own.
            return match Self::parse_name(prefix) {
                Ok(_) if raw.chars().count() <= Self::MAX_CHARS => Ok(Self(raw.to_owned())),
                Ok(_) => Err(InvalidValue::TooLong {
                    max: Self::MAX_CHARS,
                }),
                Err(_) => Err(InvalidValue::Malformed(Self::GRAMMAR)),
            };
        }
        Self::parse_name(raw)
    }

    /// A plain name (no wildcard): what a query names.
    fn parse_name(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() {
            return Err(InvalidValue::Empty);
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        let starts_well = raw
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !starts_well || !raw.chars().all(name_char) || is_operator(raw) {
            return Err(InvalidValue::Malformed(Self::GRAMMAR));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a wildcard grant (`documents.*`).
    pub fn is_wildcard(&self) -> bool {
        self.0.ends_with(Self::WILDCARD)
    }

    /// Whether holding this permission grants `needed`: the same name, or a
    /// wildcard over it (`documents.*` grants `documents.read`).
    pub fn grants(&self, needed: &Permission) -> bool {
        match self.0.strip_suffix('*') {
            // `documents.` with something after it.
            Some(under) => needed.0.len() > under.len() && needed.0.starts_with(under),
            None => self == needed,
        }
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

fn is_operator(word: &str) -> bool {
    word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or")
}

impl TryFrom<String> for Permission {
    type Error = InvalidValue;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Permission> for String {
    fn from(value: Permission) -> String {
        value.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key's permissions: at most 100 names, each once, kept in order (so a
/// key's list reads the same everywhere and compares by value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Permission>", into = "Vec<Permission>")]
pub struct Permissions(BTreeSet<Permission>);

impl Permissions {
    pub const MAX: usize = 100;

    /// The set of `names`; a name given twice counts once.
    pub fn new(names: impl IntoIterator<Item = Permission>) -> Result<Self, InvalidValue> {
        let set: BTreeSet<Permission> = names.into_iter().collect();
        if set.len() > Self::MAX {
            return Err(InvalidValue::Malformed(
                "must hold at most 100 permission names",
            ));
        }
        Ok(Self(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, name: &Permission) -> bool {
        self.0.contains(name)
    }

    /// Whether these permissions grant `needed`: it is one of them, or under
    /// one of their wildcards.
    pub fn grant(&self, needed: &Permission) -> bool {
        self.0.contains(needed)
            || self
                .0
                .iter()
                .any(|held| held.is_wildcard() && held.grants(needed))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Permission> {
        self.0.iter()
    }

    /// These and `other`'s together: what a key holds with its roles' (the
    /// limit of 100 is on what one key or role is given, not on the union).
    pub fn union(&self, other: &Permissions) -> Permissions {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// What `next` adds to these and what it takes away, in order.
    pub fn changes_to<'a>(
        &'a self,
        next: &'a Permissions,
    ) -> (Vec<&'a Permission>, Vec<&'a Permission>) {
        (
            next.0.difference(&self.0).collect(),
            self.0.difference(&next.0).collect(),
        )
    }
}

/// As sent: at most [`Permissions::MAX`] names however many repeat (the
/// schema's `maxItems`), each then kept once.
impl TryFrom<Vec<Permission>> for Permissions {
    type Error = InvalidValue;
    fn try_from(names: Vec<Permission>) -> Result<Self, Self::Error> {
        if names.len() > Self::MAX {
            return Err(InvalidValue::Malformed(
                "must hold at most 100 permission names",
            ));
        }
        Self::new(names)
    }
}

impl From<Permissions> for Vec<Permission> {
    fn from(value: Permissions) -> Self {
        value.0.into_iter().collect()
    }
}

/// What a verify asks of a key's permissions: a name, or names joined with
/// `AND` and `OR` (any case) and grouped with parentheses. `AND` binds
/// tighter than `OR`, as in SQL: `a OR b AND c` is `a OR (b AND c)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionQuery {
    Has(Permission),
    All(Vec<PermissionQuery>),
    Any(Vec<PermissionQuery>),
}

impl PermissionQuery {
    /// The longest query text accepted, in characters.
    pub const MAX_CHARS: usize = 1000;
    /// How deeply parentheses may nest.
    pub const MAX_DEPTH: usize = 8;

    /// Parses `raw`. A refusal says what was wrong and where (the character
    /// position, counted from 1), never repeating the text itself.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        let tokens = tokens(raw)?;
        if tokens.is_empty() {
            return Err(InvalidValue::Empty);
        }
        let mut parser = Parser { tokens, next: 0 };
        let query = parser.any(0)?;
        match parser.tokens.get(parser.next) {
            None => Ok(query),
            Some(token) if token.kind == Kind::Close => Err(at(
                "has a closing parenthesis without its opening one",
                token.position,
            )),
            Some(token) => Err(at("expected AND or OR", token.position)),
        }
    }

    /// Whether `permissions` satisfy this query.
    pub fn allows(&self, permissions: &Permissions) -> bool {
        match self {
            Self::Has(name) => permissions.grant(name),
            Self::All(parts) => parts.iter().all(|part| part.allows(permissions)),
            Self::Any(parts) => parts.iter().any(|part| part.allows(permissions)),
        }
    }
}

fn at(reason: &'static str, position: usize) -> InvalidValue {
    InvalidValue::At { reason, position }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    And,
    Or,
    Open,
    Close,
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    /// The word, for names.
    text: String,
    /// Where it starts, in characters from 1.
    position: usize,
}

/// Splits the query into words and parentheses, by characters (never by
/// bytes, so no text can land a cut inside a character).
fn tokens(raw: &str) -> Result<Vec<Token>, InvalidValue> {
    let mut tokens = Vec::new();
    let mut chars = raw.chars().enumerate().peekable();
    while let Some((index, c)) = chars.next() {
        let position = index + 1;
        let single = |kind| Token {
            kind,
            text: String::new(),
            position,
        };
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(single(Kind::Open)),
            ')' => tokens.push(single(Kind::Close)),
            c if name_char(c) => {
                let mut word = String::from(c);
                while let Some((_, next)) = chars.next_if(|(_, next)| name_char(*next)) {
                    word.push(next);
                }
                let kind = if word.eq_ignore_ascii_case("and") {
                    Kind::And
                } else if word.eq_ignore_ascii_case("or") {
                    Kind::Or
                } else {
                    Kind::Name
                };
                tokens.push(Token {
                    kind,
                    text: word,
                    position,
                });
            }
            '*' => {
                return Err(at(
                    "names what the request needs: a wildcard (.*) is for a key's \
                     permissions, never a query",
                    position,
                ));
            }
            _ => {
                return Err(at(
                    "may hold only permission names, AND, OR, parentheses and spaces",
                    position,
                ));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    /// The end of the text, as a position: one past its last token.
    fn end(&self) -> usize {
        self.tokens
            .last()
            .map_or(1, |last| last.position + last.text.chars().count().max(1))
    }

    fn eat(&mut self, kind: Kind) -> bool {
        let matched = self.peek().is_some_and(|token| token.kind == kind);
        if matched {
            self.next += 1;
        }
        matched
    }

    /// `all (OR all)*`
    fn any(&mut self, depth: usize) -> Result<PermissionQuery, InvalidValue> {
        let mut parts = vec![self.all(depth)?];
        while self.eat(Kind::Or) {
            parts.push(self.all(depth)?);
        }
        Ok(flatten(parts, PermissionQuery::Any))
    }

    /// `one (AND one)*`
    fn all(&mut self, depth: usize) -> Result<PermissionQuery, InvalidValue> {
        let mut parts = vec![self.one(depth)?];
        while self.eat(Kind::And) {
            parts.push(self.one(depth)?);
        }
        Ok(flatten(parts, PermissionQuery::All))
    }

    /// A name, or a parenthesised query.
    fn one(&mut self, depth: usize) -> Result<PermissionQuery, InvalidValue> {
        let end = self.end();
        let Some(token) = self.tokens.get(self.next) else {
            return Err(at("ends where a permission name was expected", end));
        };
        let position = token.position;
        match token.kind {
            Kind::Name => {
                let name = Permission::parse(&token.text)
                    .map_err(|_| at("names a permission outside the grammar", position))?;
                self.next += 1;
                Ok(PermissionQuery::Has(name))
            }
            Kind::Open => {
                if depth >= PermissionQuery::MAX_DEPTH {
                    return Err(at("nests parentheses more than 8 deep", position));
                }
                self.next += 1;
                let inner = self.any(depth + 1)?;
                if !self.eat(Kind::Close) {
                    let position = self.peek().map_or(self.end(), |token| token.position);
                    return Err(at("misses a closing parenthesis", position));
                }
                Ok(inner)
            }
            Kind::Close => Err(at("has ( ) with nothing inside, or a stray )", position)),
            Kind::And | Kind::Or => {
                Err(at("expected a permission name before AND or OR", position))
            }
        }
    }
}

fn flatten(
    mut parts: Vec<PermissionQuery>,
    join: fn(Vec<PermissionQuery>) -> PermissionQuery,
) -> PermissionQuery {
    if parts.len() == 1
        && let Some(only) = parts.pop()
    {
        return only;
    }
    join(parts)
}

#[cfg(test)]
mod tests;
