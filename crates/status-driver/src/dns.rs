//! DNS TXT look-ups for EIP-1459 lists through hickory-resolver (the
//! hickory-dns project's stub resolver), wrapped in async-compat so that
//! it runs under any executor (hickory drives its sockets with tokio;
//! async-compat supplies a tokio context where there is none).

use std::io;
use std::net::SocketAddr;

use hickory_proto::rr::{RData, RecordType};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::Resolver;

use crate::node::{TxtAnswer, TxtResolver};

/// A [`TxtResolver`] over hickory-resolver.
#[derive(Clone)]
pub struct HickoryTxt {
    resolver: Resolver<TokioRuntimeProvider>,
}

impl std::fmt::Debug for HickoryTxt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HickoryTxt")
    }
}

impl HickoryTxt {
    /// The system's resolvers (`/etc/resolv.conf` on Unix).
    pub fn system() -> io::Result<Self> {
        let resolver = Resolver::builder(TokioRuntimeProvider::default())
            .map_err(io::Error::other)?
            .build()
            .map_err(io::Error::other)?;
        Ok(HickoryTxt { resolver })
    }

    /// One name server at `addr`, over UDP (and TCP for long answers): a
    /// local zone, or a test server on loopback.
    pub fn with_server(addr: SocketAddr) -> io::Result<Self> {
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = addr.port();
        let mut server = NameServerConfig::udp_and_tcp(addr.ip());
        server.connections = vec![udp, tcp];
        let mut config = ResolverConfig::default();
        config.add_name_server(server);
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .build()
            .map_err(io::Error::other)?;
        Ok(HickoryTxt { resolver })
    }
}

impl TxtResolver for HickoryTxt {
    fn resolve_txt(&self, name: String) -> TxtAnswer {
        let resolver = self.resolver.clone();
        Box::pin(async_compat::Compat::new(async move {
            // A fully qualified name: no search domains.
            let fqdn = if name.ends_with('.') {
                name
            } else {
                format!("{name}.")
            };
            let lookup = resolver
                .lookup(fqdn.as_str(), RecordType::TXT)
                .await
                .map_err(io::Error::other)?;
            let mut out = Vec::new();
            for r in lookup.answers() {
                if let RData::TXT(txt) = &r.data {
                    let text: String = txt
                        .txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect();
                    out.push((r.ttl, text));
                }
            }
            Ok(out)
        }))
    }
}
