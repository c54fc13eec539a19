//! What every provider's listing shares: reading every page of a paged list (without
//! looping forever on an API that pages in circles), keeping the configured regions, one
//! error row for an account (or a region) that could not be listed, and the checks of ids and the
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
pub async fn all_pages<C, F, Fut>(service: &str, first: C, read: F) -> Result<Vec<Server>>
where
    C: PartialEq + Clone,
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<Page<C>>>,
{
    pages(service, first, false, read).await
}

/// [`all_pages`] of an API whose pages may hold fewer servers than asked, none included,
/// before the end (Google's AIP-158: "fewer results than the number requested (including
/// zero results), even if not at the end of the collection"; ARM's `nextLink`, its only end
/// of a list): an empty page that names a next one is read past. Circles are still caught: a
/// page that names one already read, a non-empty page that repeats the one before it, more
/// than [`MAX_PAGES`] pages.
pub async fn all_pages_past_empty<C, F, Fut>(
    service: &str,
    first: C,
    read: F,
) -> Result<Vec<Server>>
where
    C: PartialEq + Clone,
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<Page<C>>>,
{
    pages(service, first, true, read).await
}

async fn pages<C, F, Fut>(
    service: &str,
    first: C,
    empty_ok: bool,
    mut read: F,
) -> Result<Vec<Server>>
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
        if ids.is_empty() && !empty_ok {
            return Err(malformed(format!(
                "page {number} of the listing is empty but names a next page"
            )));
        }
        if !ids.is_empty() && ids == previous_ids {
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
                Inventory::sorted(servers, Vec::new())
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

    /// The servers of `kind` account `account`, listed region by region (each region asked
    /// on its own: its servers, or its error): every region's servers, sorted by region,
    /// name, id, and one error row for each region that failed, beside the others.
    pub fn of_regions(
        kind: CloudKind,
        account: &str,
        listed: impl IntoIterator<Item = (String, Result<Vec<Server>>)>,
    ) -> Inventory {
        let mut servers = Vec::new();
        let mut errors = Vec::new();
        for (region, result) in listed {
            match result {
                Ok(listed) => servers.extend(listed),
                Err(e) => errors.push(InventoryError {
                    provider: kind.to_string(),
                    account: account.to_string(),
                    region: Some(region),
                    error: ErrorInfo::from(&e),
                }),
            }
        }
        Inventory::sorted(servers, errors)
    }

    fn sorted(mut servers: Vec<Server>, errors: Vec<InventoryError>) -> Inventory {
        servers.sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
        Inventory { servers, errors }
    }
}

/// Refuses what cannot be a server id (`valid` is false) before anything is sent;
/// `looks_like` says what one is (`a DigitalOcean droplet id, a number like 3164444`).
pub fn check_id(id: &str, valid: bool, looks_like: &str) -> Result<()> {
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "`{id}` is not {looks_like}; `paaf servers` lists them"
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
        format!("not in {kind} account \"{account}\": check the id (`paaf servers` lists them)"),
    )
}

/// Tags that are plain names (`env:prod` is one name, not a key and a value), as a
/// server's tags: each name with an empty value.
pub fn name_tags(names: Vec<String>) -> std::collections::BTreeMap<String, String> {
    names.into_iter().map(|t| (t, String::new())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::ServerStatus;
    use crate::error::ErrorCode;

    fn server(id: &str) -> Server {
        Server {
            provider: "gcp".into(),
            account: "prod".into(),
            region: "europe-west1-b".into(),
            id: id.into(),
            name: None,
            status: ServerStatus::Running,
            raw_state: "RUNNING".into(),
            public_ips: vec![],
            private_ips: vec![],
            tags: Default::default(),
            launched_at_ms: None,
        }
    }

    /// Pages `""` → `a` (empty) → `b` (empty) → end, with `b` naming `last` as its next.
    async fn list(past_empty: bool, last: Option<&str>) -> Result<Vec<Server>> {
        let read = |at: String| async move {
            Ok(match at.as_str() {
                "" => Page {
                    servers: vec![server("web-1")],
                    next: Some("a".to_string()),
                },
                "a" => Page {
                    servers: vec![],
                    next: Some("b".to_string()),
                },
                _ => Page {
                    servers: vec![],
                    next: last.map(str::to_string),
                },
            })
        };
        match past_empty {
            true => all_pages_past_empty("gcp", String::new(), read).await,
            false => all_pages("gcp", String::new(), read).await,
        }
    }

    #[tokio::test]
    async fn empty_pages_are_read_past_only_where_the_api_allows_them_and_circles_still_end() {
        let servers = list(true, None).await.unwrap();
        assert_eq!(
            servers.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["web-1"]
        );
        let e = list(true, Some("a")).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");
        let e = list(false, None).await.unwrap_err();
        assert!(
            e.to_string().contains("page 2 of the listing is empty"),
            "{e}"
        );
    }
}
