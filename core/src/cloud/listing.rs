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
    pages(service, first, false, |s: &Server| s.id.as_str(), read).await
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
    pages(service, first, true, |s: &Server| s.id.as_str(), read).await
}

/// [`all_pages`] of a listing of other items than servers (a cluster's pods), `id` naming
/// each.
pub async fn all_items<C, T, F, Fut>(
    service: &str,
    first: C,
    id: fn(&T) -> &str,
    read: F,
) -> Result<Vec<T>>
where
    C: PartialEq + Clone,
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<Page<C, T>>>,
{
    pages(service, first, false, id, read).await
}

async fn pages<C, T, F, Fut>(
    service: &str,
    first: C,
    empty_ok: bool,
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
        if ids.is_empty() && !empty_ok {
            return Err(malformed(format!(
                "page {number} of the listing is empty but names a next page"
            )));
        }
        if !ids.is_empty() && ids == previous_ids {
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
        Inventory::of_listings(kind, account, regions, [(None, listed)])
    }

    /// The servers of `kind` account `account` listed in parts: a region (zone) each, read
    /// one by one or side by side, or (`None`) the account's own, one read each. Those of
    /// `regions` (all when it is empty) are kept and sorted by region, name, id; each part
    /// that failed is one error row naming its region, beside the servers of the others.
    pub fn of_listings(
        kind: CloudKind,
        account: &str,
        regions: &[String],
        parts: impl IntoIterator<Item = (Option<String>, Result<Vec<Server>>)>,
    ) -> Inventory {
        let mut inventory = Inventory::default();
        for (region, listed) in parts {
            match listed {
                Ok(servers) => inventory.servers.extend(servers),
                Err(e) => inventory
                    .errors
                    .push(InventoryError::of(kind, account, region, &e)),
            }
        }
        let servers = &mut inventory.servers;
        servers.retain(|s| regions.is_empty() || regions.contains(&s.region));
        servers.sort_by(|a, b| (&a.region, &a.name, &a.id).cmp(&(&b.region, &b.name, &b.id)));
        inventory
    }

    /// The servers of `kind` account `account` whose API answers per region (a GCP or
    /// Scaleway zone, an EC2 endpoint, a Kubernetes namespace): `list` of each of `regions`,
    /// read concurrently; a region that fails is an error row of its own beside the others'
    /// servers. Sorted by region, name, id.
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
            .map(|region| async move { (Some(region.clone()), list(region).await) });
        let parts = futures::future::join_all(reads).await;
        Inventory::of_listings(kind, account, &[], parts)
    }
}

impl InventoryError {
    /// The row of `error`, which `kind` account `account` met listing `region` (`None`: the
    /// whole account).
    pub fn of(kind: CloudKind, account: &str, region: Option<String>, error: &Error) -> Self {
        InventoryError {
            provider: kind.to_string(),
            account: account.to_string(),
            region,
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
            "`{id}` is not {looks_like}; `paaf server list` lists them"
        )))
    }
}

/// Refuses `region` (a `what`: region, zone, namespace) that account `account` (`aws
/// "prod"`) does not list among `configured`.
pub fn check_configured<S: AsRef<str>>(
    account: &str,
    what: &str,
    region: &str,
    configured: &[S],
) -> Result<()> {
    if configured.iter().any(|c| c.as_ref() == region) {
        return Ok(());
    }
    Err(not_configured(account, what, region, configured))
}

/// The error of a `region` that account `account` does not list among `configured`.
pub fn not_configured<S: AsRef<str>>(
    account: &str,
    what: &str,
    region: &str,
    configured: &[S],
) -> Error {
    let configured: Vec<&str> = configured.iter().map(AsRef::as_ref).collect();
    Error::invalid(format!(
        "{account}: {what} {region} is not configured (configured: {})",
        configured.join(", ")
    ))
}

/// Refuses the `what`s an account lists (its regions, zones or namespaces) unless each is
/// `valid` (else it `is not {not_one}`) and named once.
pub fn check_listed<S: AsRef<str>>(
    account: &str,
    what: &str,
    names: impl IntoIterator<Item = S>,
    valid: impl Fn(&str) -> bool,
    not_one: &str,
) -> Result<()> {
    let mut seen: Vec<S> = Vec::new();
    for name in names {
        let n = name.as_ref();
        let why = if !valid(n) {
            format!("`{n}` is not {not_one}")
        } else if seen.iter().any(|s| s.as_ref() == n) {
            format!("{what} {n} is named twice")
        } else {
            seen.push(name);
            continue;
        };
        return Err(Error::invalid(format!("{account}: {why}")));
    }
    Ok(())
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

/// An RFC 3339 time (`2024-03-01T10:00:00Z`, a server's creation) in ms since the Unix
/// epoch, as [`Server::launched_at_ms`]; `None` when it is not one.
pub fn launched_at(time: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.timestamp_millis())
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

/// Whether `id` is a UUID in its 8-4-4-4-12 hex form (a Vultr instance, a Scaleway server
/// or project).
pub fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A server's public and private addresses from `(address, private)` pairs: in order, each
/// once, without empty ones or the unspecified `0.0.0.0` and `::` (no address yet).
pub fn addresses(all: impl IntoIterator<Item = (String, bool)>) -> (Vec<String>, Vec<String>) {
    let (mut public, mut private) = (Vec::new(), Vec::new());
    for (address, is_private) in all {
        let list = if is_private {
            &mut private
        } else {
            &mut public
        };
        if !matches!(address.as_str(), "" | "0.0.0.0" | "::") && !list.contains(&address) {
            list.push(address);
        }
    }
    (public, private)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{ServerStatus, test_server};
    use crate::error::ErrorCode;

    fn server(id: &str) -> Server {
        Server {
            provider: "gcp".into(),
            region: "europe-west1-b".into(),
            id: id.into(),
            name: None,
            raw_state: "RUNNING".into(),
            ..test_server(ServerStatus::Running)
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
