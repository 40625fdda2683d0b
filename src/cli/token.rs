//! `zhibiao token create|list|revoke`: tokens managed with the server stopped.

use std::path::Path;

use super::TokenAction;
use super::{open, CliResult};

pub(super) fn token(db: &Path, action: TokenAction) -> CliResult {
    use crate::query::tokens::{mint, parse_role, resolve_units, valid_name};
    let store = open(db)?;
    match action {
        TokenAction::Create {
            role,
            units,
            name,
            region,
            json,
        } => {
            valid_name(&name)?;
            let role = parse_role(&role)?;
            let units = resolve_units(&store.units()?, role, &units)?;
            let region = match region {
                Some(r) => {
                    crate::query::Queries::new(store.clone()).known_region("region", &r)?;
                    r
                }
                None => String::new(),
            };
            let (tok, secret) = mint(
                &name,
                role,
                units,
                region,
                crate::clock::Clock::default().now(),
            );
            store.put_token(&tok, false)?;
            store.flush()?;
            if json {
                let out = serde_json::json!({"token": secret, "name": tok.name, "role": tok.role, "units": tok.units});
                outln!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                outln!("{secret}");
                eprintln!(
                    "created {} token '{}'{}; the secret above is shown only once",
                    role.as_str(),
                    tok.name,
                    if tok.units.is_empty() {
                        String::new()
                    } else {
                        format!(" for {}", tok.units.join("、"))
                    }
                );
            }
        }
        TokenAction::List { json } => {
            let tokens = store.tokens()?;
            if json {
                let views: Vec<_> = tokens
                    .iter()
                    .map(crate::query::tokens::TokenView::from)
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                for t in tokens {
                    outln!(
                        "{:<24} {:<10} {}",
                        t.name,
                        t.role.as_str(),
                        t.units.join("、")
                    );
                }
            }
        }
        TokenAction::Revoke { name, json } => match store.revoke_token(&name)? {
            Some(t) => {
                store.flush()?;
                if json {
                    let v =
                        serde_json::json!({"revoked": crate::query::tokens::TokenView::from(&t)});
                    outln!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    outln!("revoked '{name}'");
                }
            }
            None => return Err(format!("no token named '{name}'").into()),
        },
    }
    Ok(())
}
