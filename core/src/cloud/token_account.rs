//! The account of a provider reached with one API token (DigitalOcean, Hetzner, Linode,
//! Vultr): its `[[clouds]]` keys, [`FromConfig`], the listing of every page and
//! the `Debug` that never shows the token are written here once, as [`TokenAccount`]; a
//! provider file adds its [`TokenVendor`] part: its endpoints, JSON shapes, states and errors.

use super::prelude::*;
use crate::config::Needed;
use std::future::Future;
use std::marker::PhantomData;

/// The `[[clouds]]` keys of a provider reached with one API token (DigitalOcean, Hetzner,
/// Linode, Vultr).
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// The API token (`token`).
    pub token: SecretRef,
    /// The regions (or locations) whose servers are listed (`regions`); empty: all.
    pub regions: Vec<String>,
    /// Another API base URL than the provider's own (`endpoint`: a test server).
    pub endpoint: Option<String>,
}

/// What an entry without its API token lacks.
pub const API_TOKEN: Needed = ("its API token", "token = \"keyring:NAME\"");

impl AccountConfig for TokenConfig {
    fn read(entry: &CloudEntry<'_>) -> Result<TokenConfig> {
        let endpoint = entry.endpoint()?;
        let token = entry.secret(Key::Token)?;
        Ok(TokenConfig {
            token: entry.needs(token, API_TOKEN)?,
            regions: entry.regions(),
            endpoint,
        })
    }
}

/// What a provider reached with one API token adds to [`TokenAccount`]: its API's words,
/// pages, reads and power actions. Its methods take the account as `this`.
pub trait TokenVendor: Sized + Send + Sync + std::fmt::Debug + 'static {
    /// Which provider: its `type` in the config and its [`Server::provider`].
    const KIND: CloudKind;
    /// The API's base URL.
    const DEFAULT_URL: &'static str;
    /// What an empty token is told: how to get one.
    const EMPTY_TOKEN: &'static str =
        "the API token is empty; store the token with `paaf secret set`";
    /// A server in the API's words (`droplet`), which a 404 says the account has not.
    const SERVER: &'static str;
    /// Where the listing's first page is (page 1, an empty cursor).
    const FIRST_PAGE: Self::Cursor;
    /// How a page names the next one (a page number, a cursor).
    type Cursor: PartialEq + Clone + Send;

    /// What an error body of the API says ([`Vendor::said`]).
    fn said(failure: &HttpFailure) -> Option<Said>;

    /// What the API's own codes mean ([`Vendor::meaning`]); the default, nothing more.
    fn meaning(_failure: &HttpFailure, _said: Option<&Said>) -> Option<ErrorCode> {
        None
    }

    /// The remedy for a `code` failure of account `account`, in the API's words
    /// ([`Vendor::hint`]).
    fn hint(
        account: &str,
        code: ErrorCode,
        failure: &HttpFailure,
        said: Option<&Said>,
    ) -> Option<String>;

    /// Refuses `regions` that cannot be the API's (default: any name is taken).
    fn check_regions(_account: &str, _regions: &[String]) -> Result<()> {
        Ok(())
    }

    /// The page of the servers at `at`, and where the next one is.
    fn page(
        this: &TokenAccount<Self>,
        at: Self::Cursor,
    ) -> impl Future<Output = Result<Page<Self::Cursor>>> + Send;

    /// [`CloudProvider::read`].
    fn read(this: &TokenAccount<Self>, id: &str) -> impl Future<Output = Result<Server>> + Send;

    /// [`CloudProvider::power`].
    fn power(
        this: &TokenAccount<Self>,
        id: &str,
        action: PowerAction,
    ) -> impl Future<Output = Result<Accepted>> + Send;

    /// [`CloudProvider::settle`]; the default has nothing to wait for.
    fn settle(
        _this: &TokenAccount<Self>,
        _accepted: &Accepted,
        _wait: Wait<'_>,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// [`CloudProvider::operation_proves`]; the default, no.
    fn operation_proves(_action: PowerAction) -> bool {
        false
    }
}

/// One configured account of the provider `V`: its token lives in the [`Service`]'s auth,
/// which `Debug` never shows.
#[derive(Debug, Clone)]
pub struct TokenAccount<V> {
    pub(super) name: String,
    pub(super) api: Service,
    /// Regions (locations) to list; empty: all.
    pub(super) regions: Vec<String>,
    vendor: PhantomData<V>,
}

impl<V: TokenVendor> CloudProvider for TokenAccount<V> {
    kind_and_name!(V::KIND);

    /// Every server of the account (of the configured regions), sorted by region, name, id;
    /// a failure is one error row for the whole account (the API is not per region).
    async fn list(&self) -> Inventory {
        let servers = all_pages(self.api.name(), V::FIRST_PAGE, |at| V::page(self, at)).await;
        Inventory::of_account(V::KIND, &self.name, &self.regions, servers)
    }

    /// Server `id`, read now: its id is global to the account, `region` is not needed.
    async fn read(&self, _region: &str, id: &str) -> Result<Server> {
        V::read(self, id).await
    }

    /// Sends `action` to server `id` once and returns the API's acceptance.
    async fn power(&self, _region: &str, id: &str, action: PowerAction) -> Result<Accepted> {
        V::power(self, id, action).await
    }

    async fn settle(&self, _region: &str, accepted: &Accepted, wait: Wait<'_>) -> Result<()> {
        V::settle(self, accepted, wait).await
    }

    fn operation_proves(&self, action: PowerAction) -> bool {
        V::operation_proves(action)
    }
}

impl<V: TokenVendor> FromConfig for TokenAccount<V> {
    type Keys = TokenConfig;

    /// The account `name` at its API (or `endpoint`) with its token; only the servers of
    /// its `regions` are listed, unless it names none. An empty token is refused.
    fn connect(
        name: &str,
        keys: &TokenConfig,
        secrets: &dyn SecretStore,
        limits: Limits,
    ) -> Result<Self> {
        let (regions, base_url) = (&keys.regions, keys.endpoint.as_deref());
        V::check_regions(name, regions)?;
        let (kind, token) = (V::KIND, keys.token.resolve(secrets)?);
        if token.expose_secret().trim().is_empty() {
            return Err(Error::invalid(format!(
                "{kind} \"{name}\": {}",
                V::EMPTY_TOKEN
            )));
        }
        let label = format!("{kind} \"{name}\"");
        let base_url = base_url.unwrap_or(V::DEFAULT_URL);
        let api = Service::new(&label, base_url, HttpAuth::Bearer(token), limits)?;
        Ok(TokenAccount {
            name: name.to_string(),
            api: api.with_vendor(TokenErrors::<V> {
                account: name.to_string(),
                vendor: PhantomData,
            }),
            regions: regions.to_vec(),
            vendor: PhantomData,
        })
    }
}

impl<V: TokenVendor> TokenAccount<V> {
    /// A request about server `id` that is `doing` something: a 404 means the account has
    /// no such server.
    pub(super) fn about(&self, doing: String, id: &str) -> Doing {
        about_server(V::KIND, &self.name, doing, V::SERVER, id)
    }
}

/// The failure policy's [`Vendor`] of account `account` of the provider `V`: its words.
struct TokenErrors<V> {
    account: String,
    vendor: PhantomData<fn() -> V>,
}

impl<V: TokenVendor> Vendor for TokenErrors<V> {
    fn said(&self, failure: &HttpFailure) -> Option<Said> {
        V::said(failure)
    }

    fn meaning(&self, failure: &HttpFailure, said: Option<&Said>) -> Option<ErrorCode> {
        V::meaning(failure, said)
    }

    fn hint(&self, code: ErrorCode, failure: &HttpFailure, said: Option<&Said>) -> Option<String> {
        V::hint(&self.account, code, failure, said)
    }
}

#[cfg(test)]
impl<V: TokenVendor> TokenAccount<V> {
    /// The account `prod` with `token`, listing `regions`, at `endpoint` (default: an
    /// address nothing answers).
    pub(super) fn for_test(token: &str, regions: &[&str], endpoint: Option<&str>) -> Result<Self> {
        let keys = TokenConfig {
            token: super::test_secret(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            endpoint: Some(endpoint.unwrap_or("http://127.0.0.1:1").to_string()),
        };
        Self::connect("prod", &keys, &super::test_store(token), Limits::default())
    }
}
