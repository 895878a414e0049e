//! A key's IP allowlist: the addresses and ranges a key may be used from,
//! checked against the end user's address (the key-authorizer's, from API
//! Gateway's own request context; or the one a verify's caller vouches for).
//!
//! Entries are parsed and normalised by `ipnet` (an address is its /32 or
//! /128; a range's host bits are cleared: `10.1.2.3/8` is `10.0.0.0/8`).
//! An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, as a dual-stack
//! socket reports an IPv4 client) is judged as the IPv4 address it is.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::InvalidValue;

/// What an address outside the list does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowlistMode {
    /// Refused: `ADDRESS_NOT_ALLOWED`.
    #[default]
    Enforce,
    /// Let through, and said: the verdict and the usage counts show it, so
    /// a team can roll a list out before it refuses anyone.
    Report,
}

/// One entry: an address or a range, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllowedNet(IpNet);

impl AllowedNet {
    /// `203.0.113.7`, `2001:db8::1`, `10.0.0.0/8`, `2001:db8::/32`; anything
    /// else is refused, without repeating it.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let raw = raw.trim();
        let net = match raw.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => raw
                .parse::<IpAddr>()
                .map(IpNet::from)
                .map_err(|_| {
                    InvalidValue::Malformed(
                        "must be an IPv4 or IPv6 address, or a range such as 10.0.0.0/8 or 2001:db8::/32",
                    )
                })?,
        };
        Ok(Self(net.trunc()))
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.contains(&address)
    }
}

impl std::fmt::Display for AllowedNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for AllowedNet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AllowedNet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A key's allowlist: 1 to [`IpAllowlist::MAX`] entries, each once, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "ListAsSent")]
pub struct IpAllowlist {
    pub entries: Vec<AllowedNet>,
    #[serde(default)]
    pub mode: AllowlistMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListAsSent {
    entries: Vec<AllowedNet>,
    #[serde(default)]
    mode: AllowlistMode,
}

impl TryFrom<ListAsSent> for IpAllowlist {
    type Error = String;

    fn try_from(sent: ListAsSent) -> Result<Self, Self::Error> {
        if sent.entries.is_empty() {
            return Err("entries: give at least one address or range (or no allowlist)".into());
        }
        if sent.entries.len() > Self::MAX {
            return Err(format!(
                "entries: at most {} addresses or ranges",
                Self::MAX
            ));
        }
        let mut entries: Vec<AllowedNet> = sent.entries;
        entries.sort();
        entries.dedup();
        Ok(Self {
            entries,
            mode: sent.mode,
        })
    }
}

/// Where an address stands against a key's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressCheck {
    /// No list, or an address on it.
    Allowed,
    /// Not on it (or no address given), and the list enforces.
    Refused,
    /// Not on it (or no address given), and the list only reports.
    Reported,
}

impl IpAllowlist {
    pub const MAX: usize = 100;

    /// Whether `address` is on the list: an IPv4-mapped IPv6 address as its
    /// IPv4 self. No address is on no list.
    pub fn allows(&self, address: Option<IpAddr>) -> bool {
        let Some(address) = address else {
            return false;
        };
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        self.entries.iter().any(|entry| entry.contains(address))
    }

    /// What a verify from `address` gets.
    pub fn check(list: Option<&Self>, address: Option<IpAddr>) -> AddressCheck {
        match list {
            None => AddressCheck::Allowed,
            Some(list) if list.allows(address) => AddressCheck::Allowed,
            Some(list) => match list.mode {
                AllowlistMode::Enforce => AddressCheck::Refused,
                AllowlistMode::Report => AddressCheck::Reported,
            },
        }
    }

    /// In words for the audit log: `2 entries (203.0.113.0/24, 2001:db8::/32), enforced`.
    pub fn describe(list: Option<&Self>) -> String {
        let Some(list) = list else {
            return "none".into();
        };
        let entries: Vec<String> = list.entries.iter().map(ToString::to_string).collect();
        let mode = match list.mode {
            AllowlistMode::Enforce => "enforced",
            AllowlistMode::Report => "report only",
        };
        format!(
            "{} {} ({}), {mode}",
            entries.len(),
            if entries.len() == 1 {
                "entry"
            } else {
                "entries"
            },
            entries.join(", ")
        )
    }
}

#[cfg(test)]
mod tests;
