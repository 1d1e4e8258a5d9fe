//! `ethereum:` URIs (EIP-831 frames, EIP-681 requests) from arbitrary text:
//! a typed error, or a request whose formatted form parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_eth::uri::{EthereumUri, PaymentRequest};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = EthereumUri::parse(s);
    for uri in [s.to_string(), format!("ethereum:{s}")] {
        if let Ok(r) = PaymentRequest::parse(&uri) {
            let text = r.to_string();
            assert_eq!(PaymentRequest::parse(&text).as_ref(), Ok(&r), "{text}");
            let _ = (r.value(), r.gas_limit(), r.gas_price(), r.erc20_transfer());
        }
    }
});
