//! What every provider's listing shares: reading every page of a paged list (without
//! looping forever on an API that pages in circles), keeping the configured regions, one
//! error row for an account that could not be listed (or for each region of an API listed
//! region by region), and the checks of ids, region names and the not-found of a server
//! before and after a request.

use super::{Inventory, InventoryError, Server};
use crate::config::CloudKind;
use crate::error::{Error, ErrorInfo, Result};
use crate::http::Doing;
use std::future::Future;

/// Pages paaf reads at most: a listing that keeps paging past this is an API fault.
pub const MAX_PAGES: usize = 1000;

/// One page of a paged listing: its servers (or other items, `T`), and where the next page
/// is (`None`: the last).
pub struct Page<C, T = Server> {
    pub servers: Vec<T>,
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
    all_items(service, first, |s: &Server| s.id.as_str(), read).await
}

/// [`all_pages`] of a listing of other items than servers (a cluster's pods, a server's
/// dashboards), `id` naming each.
pub async fn all_items<C, T, F, Fut>(
    service: &str,
    first: C,
    id: fn(&T) -> &str,
    mut read: F,
) -> Result<Vec<T>>
where
    C: PartialEq + Clone,
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<Page<C, T>>>,
{
    let malformed = |reason: String| Error::MalformedResponse {
        what: service.to_string(),
        reason,
    };
    let mut servers: Vec<T> = Vec::new();
    let mut read_already = vec![first.clone()];
    let mut at = first;
    let mut previous_ids: Vec<String> = Vec::new();
    for number in 1..=MAX_PAGES {
        let page = read(at.clone()).await?;
        let ids: Vec<String> = page.servers.iter().map(|s| id(s).to_string()).collect();
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
                "page {number} of the listing repeats the page before it: the API ignores where a page starts (its cursor, page number or offset)"
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
                errors: vec![InventoryError::of(kind, account, None, &e)],
            },
        }
    }

    /// The servers of `kind` account `account` whose API answers per region (an EC2
    /// endpoint, a Kubernetes namespace): `list` of each of `regions`, read concurrently; a
    /// region that fails is an error row of its own beside the others' servers. Sorted by
    /// region, name, id.
    pub async fn of_regions<'a, F, Fut>(
        kind: CloudKind,
        account: &str,
        regions: &'a [String],
        list: F,
    ) -> Inventory
    where
        F: Fn(&'a str) -> Fut,
        Fut: Future<Output = Result<Vec<Server>>>,
    {
        let list = &list;
        let reads = regions
            .iter()
            .map(|region| async move { (region, list(region).await) });
        let mut inventory = Inventory::default();
        for (region, listed) in futures::future::join_all(reads).await {
            match listed {
                Ok(servers) => inventory.servers.extend(servers),
                Err(e) => {
                    inventory
                        .errors
                        .push(InventoryError::of(kind, account, Some(region), &e))
                }
            }
        }
        inventory
            .servers
            .sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
        inventory
    }
}

impl InventoryError {
    /// The row of `error`, which `kind` account `account` met listing `region` (`None`: the
    /// whole account).
    pub fn of(kind: CloudKind, account: &str, region: Option<&str>, error: &Error) -> Self {
        InventoryError {
            provider: kind.to_string(),
            account: account.to_string(),
            region: region.map(str::to_string),
            error: ErrorInfo::from(error),
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

/// Whether `name` can be a region or location name (`eu-west-1`, `fsn1`): lowercase letters,
/// digits and `-`, at most 32; so it is safe in a host name or a path.
pub fn is_region_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// An RFC 3339 time (a server's launch or creation time) in ms since the Unix epoch; `None`
/// when it is missing or not one.
pub fn rfc3339_ms(time: Option<&str>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(time?)
        .ok()
        .map(|t| t.timestamp_millis())
}
