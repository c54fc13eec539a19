//! What every provider's listing shares: reading every page of a paged list (without
//! looping forever on an API that pages in circles), keeping the configured regions, one
//! error row for an account that could not be listed, and the checks of ids and the
//! not-found of a server before and after a request.

use super::{Inventory, InventoryError, Server};
use crate::config::CloudKind;
use crate::error::{Error, ErrorInfo, Result};
use crate::http::Doing;
use std::future::Future;

/// Pages paaf reads at most: a listing that keeps paging past this is an API fault.
pub const MAX_PAGES: usize = 1000;

/// One page of a paged listing: its servers, and where the next page is (`None`: the last).
pub struct Page<C> {
    pub servers: Vec<Server>,
    pub next: Option<C>,
}

/// Every server of a paged listing of `service`: reads the page at `first`, then each
/// page its predecessor names (a page number, a cursor), until one names none. A page that
/// names one already read, an empty page that names a next one, a page that repeats the
/// previous one, or more than [`MAX_PAGES`] pages is a `malformed-response`, not a loop.
pub async fn all_pages<C, F, Fut>(service: &str, first: C, mut read: F) -> Result<Vec<Server>>
where
    C: PartialEq + Clone,
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<Page<C>>>,
{
    let malformed = |reason: String| Error::MalformedResponse {
        what: service.to_string(),
        reason,
    };
    let mut servers: Vec<Server> = Vec::new();
    let mut read_already = vec![first.clone()];
    let mut at = first;
    let mut previous_ids: Vec<String> = Vec::new();
    for number in 1..=MAX_PAGES {
        let page = read(at.clone()).await?;
        let ids: Vec<String> = page.servers.iter().map(|s| s.id.clone()).collect();
        let Some(next) = page.next else {
            servers.extend(page.servers);
            return Ok(servers);
        };
        if read_already.contains(&next) {
            return Err(malformed(format!(
                "page {number} of the listing names a page paaf read already as the next"
            )));
        }
        if ids.is_empty() {
            return Err(malformed(format!(
                "page {number} of the listing is empty but names a next page"
            )));
        }
        if ids == previous_ids {
            return Err(malformed(format!(
                "page {number} of the listing repeats the page before it"
            )));
        }
        servers.extend(page.servers);
        read_already.push(next.clone());
        previous_ids = ids;
        at = next;
    }
    Err(malformed(format!(
        "the listing kept paging past {MAX_PAGES} pages"
    )))
}

impl Inventory {
    /// The servers of `kind` account `account`, listed in one go (its API is not per
    /// region): those of `regions` (all when it is empty), sorted by region, name, id; a
    /// failure is one error row for the whole account.
    pub fn of_account(
        kind: CloudKind,
        account: &str,
        regions: &[String],
        listed: Result<Vec<Server>>,
    ) -> Inventory {
        match listed {
            Ok(mut servers) => {
                servers.retain(|s| regions.is_empty() || regions.contains(&s.region));
                servers
                    .sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
                Inventory {
                    servers,
                    errors: Vec::new(),
                }
            }
            Err(e) => Inventory {
                servers: Vec::new(),
                errors: vec![InventoryError {
                    provider: kind.to_string(),
                    account: account.to_string(),
                    region: None,
                    error: ErrorInfo::from(&e),
                }],
            },
        }
    }
}

/// Refuses what cannot be a server id (`valid` is false) before anything is sent;
/// `looks_like` says what one is (`a DigitalOcean droplet id, a number like 3164444`).
pub fn check_id(id: &str, valid: bool, looks_like: &str) -> Result<()> {
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{id}` is not {looks_like}; `paaf server list` lists them"
        )))
    }
}

/// Whether `id` is a number of at most `digits` digits (the id of a droplet, a Linode).
pub fn is_number(id: &str, digits: usize) -> bool {
    !id.is_empty() && id.len() <= digits && id.bytes().all(|b| b.is_ascii_digit())
}

/// A request about server `id` of `kind` account `account` that is `doing` something: a
/// 404 means the account has no such `what` (`droplet`).
pub fn about_server(
    kind: CloudKind,
    account: &str,
    doing: String,
    what: &'static str,
    id: &str,
) -> Doing {
    Doing::new(doing).missing(
        what,
        id,
        format!(
            "not in {kind} account \"{account}\": check the id (`paaf server list` lists them)"
        ),
    )
}

/// Tags that are plain names (`env:prod` is one name, not a key and a value), as a
/// server's tags: each name with an empty value.
pub fn name_tags(names: Vec<String>) -> std::collections::BTreeMap<String, String> {
    names.into_iter().map(|t| (t, String::new())).collect()
}
