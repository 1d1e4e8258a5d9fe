//! JSON-RPC over HTTP for the sans-IO [`status_eth::Wallet`] (feature
//! `jsonrpc`).
//!
//! [`EthClient`] owns a wallet and an HTTP/1.1 client (hyper, pooled
//! connections, so the wallet's concurrent requests go out side by side). It
//! POSTs every [`Output::Request`] to the node's URL, hands each answer
//! back with the wall-clock time, arms one timer at the wallet's
//! `poll_timeout`, and yields the wallet's events. Plain `http://` only:
//! it is meant for a local node or one behind a TLS-terminating proxy.
//!
//! ```no_run
//! use status_core::SecretKey;
//! use status_eth::{Event, TransactionRequest, WalletConfig, U256};
//! use status_tokio::EthClient;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut eth = EthClient::new("http://127.0.0.1:8545", WalletConfig { chain_id: 1337, ..Default::default() })?;
//! let me = eth.wallet_mut().add_account(SecretKey::from_hex(&"11".repeat(32))?);
//! let now = EthClient::now();
//! let op = eth.wallet_mut().send_transaction(now, TransactionRequest::transfer(me, me, U256::from(1)))?;
//! loop {
//!     match eth.next_event_for(op).await {
//!         Some(Event::Sent { hash, .. }) => println!("sent {hash}"),
//!         Some(Event::Confirmed { receipt, .. }) => break println!("mined in {}", receipt.block_number),
//!         Some(Event::Failed { error, .. }) => break println!("failed: {error}"),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request as HttpRequest, StatusCode, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use status_core::Timestamp;
use status_eth::{Event, Input, OpId, Output, RequestId, Wallet, WalletConfig};
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// Why an [`EthClient`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EthClientError {
    /// The URL does not parse.
    #[error("invalid node URL {0:?}")]
    InvalidUrl(String),
    /// Only `http://` is supported.
    #[error("unsupported URL scheme in {0:?}: only http:// is supported")]
    UnsupportedScheme(String),
}

type Answer = (RequestId, Result<Vec<u8>, String>);

/// A [`Wallet`] driven over JSON-RPC/HTTP by Tokio.
pub struct EthClient {
    wallet: Wallet,
    url: Uri,
    client: Client<HttpConnector, Full<Bytes>>,
    in_flight: JoinSet<Answer>,
    events: VecDeque<Event>,
}

impl std::fmt::Debug for EthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EthClient")
            .field("url", &self.url)
            .field("wallet", &self.wallet)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl EthClient {
    /// A client for the node at `url` (e.g. `http://127.0.0.1:8545`) with a
    /// new wallet.
    pub fn new(url: &str, config: WalletConfig) -> Result<Self, EthClientError> {
        Self::with_wallet(url, Wallet::new(config))
    }

    /// A client for the node at `url` around `wallet`.
    pub fn with_wallet(url: &str, wallet: Wallet) -> Result<Self, EthClientError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| EthClientError::InvalidUrl(url.to_string()))?;
        if uri.scheme_str() != Some("http") {
            return Err(EthClientError::UnsupportedScheme(url.to_string()));
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(EthClient {
            wallet,
            url: uri,
            client,
            in_flight: JoinSet::new(),
            events: VecDeque::new(),
        })
    }

    /// The wall clock as the wallet wants it.
    pub fn now() -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        Timestamp::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The wallet, to read.
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// The wallet, to start operations on; [`EthClient::next_event`] sends
    /// what they asked for.
    pub fn wallet_mut(&mut self) -> &mut Wallet {
        &mut self.wallet
    }

    /// Runs the wallet until it has an event, and returns it. `None` when
    /// the wallet is idle: nothing in flight and no timer armed.
    pub async fn next_event(&mut self) -> Option<Event> {
        match self.events.pop_front() {
            Some(e) => Some(e),
            None => self.run_wallet().await,
        }
    }

    /// Runs the wallet until it has an event (ignoring kept events).
    async fn run_wallet(&mut self) -> Option<Event> {
        loop {
            while let Some(out) = self.wallet.poll_output() {
                match out {
                    Output::Request(req) => self.spawn(req),
                    Output::Event(e) => return Some(e),
                }
            }
            let timeout = self.wallet.poll_timeout();
            if self.in_flight.is_empty() && timeout.is_none() {
                return None;
            }
            let sleep = match timeout {
                Some((at, _)) => {
                    Duration::from_millis(at.as_millis().saturating_sub(Self::now().as_millis()))
                }
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                Some(joined) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    let (id, result) = match joined {
                        Ok(answer) => answer,
                        Err(e) => {
                            warn!("JSON-RPC request task failed: {e}");
                            continue;
                        }
                    };
                    let input = match &result {
                        Ok(body) => Input::Response { id, body },
                        Err(reason) => Input::Failed { id, reason: reason.clone() },
                    };
                    if let Err(e) = self.wallet.handle_input(Self::now(), input) {
                        // A late answer to a request that already timed out.
                        debug!("answer dropped: {e}");
                    }
                }
                _ = tokio::time::sleep(sleep) => {
                    if let Some((_, reason)) = timeout {
                        debug!(reason, "wallet timer");
                    }
                    self.wallet.handle_timeout(Self::now());
                }
            }
        }
    }

    /// Runs the wallet until it has an event of `op`; events of other
    /// operations are kept for [`EthClient::next_event`].
    pub async fn next_event_for(&mut self, op: OpId) -> Option<Event> {
        if let Some(i) = self.events.iter().position(|e| e.op() == op) {
            return self.events.remove(i);
        }
        loop {
            match self.run_wallet().await {
                Some(e) if e.op() == op => return Some(e),
                Some(e) => self.events.push_back(e),
                None => return None,
            }
        }
    }

    fn spawn(&mut self, req: status_eth::Request) {
        let max = self.wallet.config().max_response_bytes;
        let http = HttpRequest::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(req.body)));
        let client = self.client.clone();
        let (id, method) = (req.id, req.method);
        debug!(id = id.0, method, "JSON-RPC request");
        self.in_flight.spawn(async move {
            let http = match http {
                Ok(h) => h,
                Err(e) => return (id, Err(format!("cannot build request: {e}"))),
            };
            let response = match client.request(http).await {
                Ok(r) => r,
                Err(e) => return (id, Err(format!("HTTP request failed: {e}"))),
            };
            if response.status() != StatusCode::OK {
                return (id, Err(format!("HTTP status {}", response.status())));
            }
            // One byte over the limit is enough for the wallet to refuse it.
            match Limited::new(response.into_body(), max + 1).collect().await {
                Ok(body) => (id, Ok(body.to_bytes().to_vec())),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    (id, Err(format!("response body larger than {max} bytes")))
                }
                Err(e) => (id, Err(format!("reading the body failed: {e}"))),
            }
        });
    }
}
