//! API tokens as the API and the CLI both handle them: names, roles and units checked
//! the same way, a new secret minted, and the listing shape (never the secret or its
//! hash). The store keeps them (`store::tokens`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::QueryError;
use crate::domain::UnitRegistry;
use crate::store::{hash_secret, new_secret, Role, Token};

/// A token as listed: never its secret or hash.
#[derive(Debug, Serialize)]
pub struct TokenView<'a> {
    pub name: &'a str,
    pub role: Role,
    pub units: &'a [String],
    pub created_at: DateTime<Utc>,
    /// The region it submits for; absent for the home region.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub region: &'a str,
}

impl<'a> From<&'a Token> for TokenView<'a> {
    fn from(t: &'a Token) -> Self {
        TokenView {
            name: &t.name,
            role: t.role,
            units: &t.units,
            created_at: t.created_at,
            region: &t.region,
        }
    }
}

/// The region a token submits for: where the indicators its rows name by 指标名称
/// are looked up. A token made without one submits for the home region (`home`).
pub fn token_region(token: &Token, home: &str) -> String {
    if token.region.is_empty() {
        home.to_string()
    } else {
        token.region.clone()
    }
}

/// Checks a token name: 1 to 64 of `A-Z a-z 0-9 _ . -`.
pub fn valid_name(name: &str) -> Result<(), QueryError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(QueryError::invalid(
            "name",
            "a token name is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-'",
        ))
    }
}

/// Parses a role word.
pub fn parse_role(s: &str) -> Result<Role, QueryError> {
    match s {
        "admin" => Ok(Role::Admin),
        "submitter" => Ok(Role::Submitter),
        "reader" => Ok(Role::Reader),
        other => Err(QueryError::invalid(
            "role",
            format!("'{other}' is not one of: admin, submitter, reader"),
        )),
    }
}

/// Resolves unit spellings to canonical names; a submitter needs at least one.
pub fn resolve_units(
    registry: &UnitRegistry,
    role: Role,
    units: &[String],
) -> Result<Vec<String>, QueryError> {
    let mut out: Vec<String> = Vec::new();
    for u in units {
        let c = registry.canonical(u).ok_or_else(|| {
            QueryError::invalid(
                "units",
                format!("'{u}' is not a known unit (see the units of GET /v1/indicators)"),
            )
        })?;
        if !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    }
    match role {
        Role::Submitter if out.is_empty() => Err(QueryError::invalid(
            "units",
            "a submitter token needs at least one unit, e.g. [\"县科工局\"], or [\"县统计局\"] for every indicator",
        )),
        Role::Admin | Role::Reader if !out.is_empty() => Err(QueryError::invalid(
            "units",
            "only submitter tokens are bound to units",
        )),
        _ => Ok(out),
    }
}

/// Builds a new token and its secret.
pub fn mint(
    name: &str,
    role: Role,
    units: Vec<String>,
    region: String,
    now: DateTime<Utc>,
) -> (Token, String) {
    let secret = new_secret();
    let token = Token {
        name: name.to_string(),
        role,
        units,
        hash: hex::encode(hash_secret(&secret)),
        created_at: now,
        region,
    };
    (token, secret)
}
