//! `ethereum:` URIs: the EIP-831 frame (`ethereum:` / `eth:`, an optional
//! `prefix-`, a payload) and the EIP-681 payment request inside it
//! (`ethereum:[pay-]<address|ENS>[@chain][/function][?key=value&...]`).
//!
//! Parsing is strict and bounded: at most [`MAX_URI_LEN`] bytes and
//! [`MAX_PARAMETERS`] parameters, numbers are integers that fit 256 bits
//! after their exponent, percent escapes are well formed. Formatting gives
//! back a URI that parses to the same request.

use std::fmt;

use alloy_primitives::{Address, U256};

use crate::error::Error;

/// Longest URI accepted (QR codes hold less).
pub const MAX_URI_LEN: usize = 8 * 1024;
/// Most parameters one request may carry.
pub const MAX_PARAMETERS: usize = 64;

/// An EIP-831 URI: schema, optional prefix, payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthereumUri<'a> {
    /// `prefix` of `ethereum:prefix-payload`; `None` when the payload
    /// starts with `0x` (EIP-831: then "pay" is meant).
    pub prefix: Option<&'a str>,
    /// The rest.
    pub payload: &'a str,
}

impl<'a> EthereumUri<'a> {
    /// Splits `uri` into prefix and payload.
    ///
    /// ```
    /// use status_eth::uri::EthereumUri;
    /// let u = EthereumUri::parse("ethereum:pay-0x8e23ee67d1332ad560396262c48ffbb01f93d052").unwrap();
    /// assert_eq!(u.prefix, Some("pay"));
    /// let u = EthereumUri::parse("eth:0x8e23ee67d1332ad560396262c48ffbb01f93d052").unwrap();
    /// assert_eq!(u.prefix, None);
    /// ```
    pub fn parse(uri: &'a str) -> Result<Self, Error> {
        if uri.len() > MAX_URI_LEN {
            return Err(Error::InvalidUri("too long"));
        }
        let rest = uri
            .strip_prefix("ethereum:")
            .or_else(|| uri.strip_prefix("eth:"))
            .ok_or(Error::InvalidUri("schema is not ethereum: or eth:"))?;
        if rest.is_empty() {
            return Err(Error::InvalidUri("no payload"));
        }
        if rest.starts_with("0x") {
            return Ok(EthereumUri {
                prefix: None,
                payload: rest,
            });
        }
        // A prefix is what precedes the first '-', if that comes before any
        // delimiter of the payload; otherwise the payload is an ENS name.
        if let Some(dash) = rest.find('-') {
            let prefix = &rest[..dash];
            if !prefix.is_empty()
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                let payload = &rest[dash + 1..];
                if payload.is_empty() {
                    return Err(Error::InvalidUri("no payload"));
                }
                return Ok(EthereumUri {
                    prefix: Some(prefix),
                    payload,
                });
            }
        }
        Ok(EthereumUri {
            prefix: None,
            payload: rest,
        })
    }
}

/// Who a request is addressed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `0x` and 40 hex digits (which always win over an ENS name of that
    /// form, EIP-681).
    Address(Address),
    /// An ENS name, to be resolved by the payer.
    Ens(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Address(a) => write!(f, "{a}"),
            Target::Ens(n) => f.write_str(n),
        }
    }
}

/// A parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A number, exponent applied (`2.014e18` = 2014000000000000000).
    Number {
        /// A leading `-`.
        negative: bool,
        /// The magnitude.
        magnitude: U256,
    },
    /// An address or ENS name (the value of an `address` key).
    Address(Target),
    /// Anything else, percent-decoded.
    String(String),
}

impl Value {
    /// The value as an unsigned number, if it is one.
    pub fn as_u256(&self) -> Option<U256> {
        match self {
            Value::Number {
                negative: false,
                magnitude,
            } => Some(*magnitude),
            Value::Number { magnitude, .. } if magnitude.is_zero() => Some(U256::ZERO),
            _ => None,
        }
    }
}

/// An EIP-681 transaction request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Written with the `pay-` prefix.
    pub pay_prefix: bool,
    /// Beneficiary, or the contract to call.
    pub target: Target,
    /// `@chain_id`.
    pub chain_id: Option<u64>,
    /// `/function_name`; `None` asks for a native (ether) payment.
    pub function: Option<String>,
    /// `key=value` pairs in order.
    pub parameters: Vec<(String, Value)>,
}

fn is_number_key(key: &str) -> bool {
    matches!(key, "value" | "gas" | "gasLimit" | "gasPrice")
        || key
            .strip_prefix("uint")
            .or_else(|| key.strip_prefix("int"))
            .is_some_and(|bits| bits.is_empty() || bits.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses `number = [ "-" / "+" ] *DIGIT [ "." 1*DIGIT ] [ ( "e" / "E" ) [ 1*DIGIT ] ]`;
/// only integers: the exponent must cover the decimals.
pub fn parse_number(s: &str) -> Result<(bool, U256), Error> {
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => {
            let frac = &mantissa[i + 1..];
            if frac.is_empty() {
                return Err(Error::InvalidUri("no digits after the decimal point"));
            }
            (&mantissa[..i], frac)
        }
        None => (mantissa, ""),
    };
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || !digits(exponent) {
        return Err(Error::InvalidUri("not a number"));
    }
    let exp: usize = if exponent.is_empty() {
        0
    } else if exponent.len() > 3 {
        return Err(Error::InvalidUri("number too large"));
    } else {
        exponent
            .parse()
            .map_err(|_| Error::InvalidUri("not a number"))?
    };
    if exp < frac.len() {
        return Err(Error::InvalidUri("not an integer"));
    }
    let too_large = Error::InvalidUri("number too large");
    let mut v = U256::ZERO;
    let ten = U256::from(10u8);
    for b in int.bytes().chain(frac.bytes()) {
        v = v
            .checked_mul(ten)
            .and_then(|v| v.checked_add(U256::from(b - b'0')))
            .ok_or_else(|| too_large.clone())?;
    }
    if !v.is_zero() {
        let shift = exp - frac.len();
        if shift > 77 {
            return Err(too_large);
        }
        v = v.checked_mul(ten.pow(U256::from(shift))).ok_or(too_large)?;
    }
    Ok((negative, v))
}

fn percent_decode(s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .ok_or(Error::InvalidUri("truncated percent escape"))?;
            let hex =
                std::str::from_utf8(hex).map_err(|_| Error::InvalidUri("bad percent escape"))?;
            out.push(
                u8::from_str_radix(hex, 16).map_err(|_| Error::InvalidUri("bad percent escape"))?,
            );
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::InvalidUri("escape is not UTF-8"))
}

fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~!$'()*+,;:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn parse_target(s: &str) -> Result<Target, Error> {
    if s.is_empty() {
        return Err(Error::InvalidUri("no target address"));
    }
    if let Some(hex_digits) = s.strip_prefix("0x") {
        if hex_digits.len() == 40 {
            let mut a = [0u8; 20];
            hex::decode_to_slice(hex_digits, &mut a)
                .map_err(|_| Error::InvalidUri("address is not hex"))?;
            return Ok(Target::Address(Address::from(a)));
        }
    }
    let name = percent_decode(s)?;
    crate::ens::normalize(&name)
        .map_err(|_| Error::InvalidUri("target is neither an address nor an ENS name"))?;
    if !name.contains('.') {
        return Err(Error::InvalidUri(
            "target is neither an address nor an ENS name",
        ));
    }
    Ok(Target::Ens(name))
}

impl PaymentRequest {
    /// Parses an EIP-681 URI.
    ///
    /// ```
    /// use status_eth::uri::{PaymentRequest, Value};
    ///
    /// // EIP-681's examples.
    /// let r = PaymentRequest::parse("ethereum:0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359?value=2.014e18").unwrap();
    /// assert_eq!(r.value(), Some(alloy_primitives::U256::from(2_014_000_000_000_000_000u64)));
    ///
    /// let r = PaymentRequest::parse(
    ///     "ethereum:0x89205a3a3b2a69de6dbf7f01ed13b2108b2c43e7/transfer?address=0x8e23ee67d1332ad560396262c48ffbb01f93d052&uint256=1",
    /// ).unwrap();
    /// assert_eq!(r.function.as_deref(), Some("transfer"));
    /// assert_eq!(r.to_string().parse::<PaymentRequest>().unwrap(), r);
    /// ```
    pub fn parse(uri: &str) -> Result<Self, Error> {
        let frame = EthereumUri::parse(uri)?;
        let pay_prefix = match frame.prefix {
            None => false,
            Some("pay") => true,
            Some(_) => return Err(Error::InvalidUri("not a pay- request")),
        };
        let payload = frame.payload;
        let (path, query) = match payload.find('?') {
            Some(i) => (&payload[..i], Some(&payload[i + 1..])),
            None => (payload, None),
        };
        let (head, function) = match path.find('/') {
            Some(i) => (&path[..i], Some(&path[i + 1..])),
            None => (path, None),
        };
        let (target, chain) = match head.find('@') {
            Some(i) => (&head[..i], Some(&head[i + 1..])),
            None => (head, None),
        };
        let target = parse_target(target)?;
        let chain_id = chain
            .map(|c| {
                if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::InvalidUri("chain id is not a number"));
                }
                c.parse::<u64>()
                    .map_err(|_| Error::InvalidUri("chain id too large"))
            })
            .transpose()?;
        let function = function
            .map(|f| {
                let f = percent_decode(f)?;
                if f.is_empty()
                    || !f
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    return Err(Error::InvalidUri("bad function name"));
                }
                Ok(f)
            })
            .transpose()?;
        let mut parameters = Vec::new();
        if let Some(q) = query {
            for pair in q.split('&') {
                if parameters.len() == MAX_PARAMETERS {
                    return Err(Error::InvalidUri("too many parameters"));
                }
                let (k, v) = pair
                    .split_once('=')
                    .ok_or(Error::InvalidUri("parameter without '='"))?;
                let key = percent_decode(k)?;
                if key.is_empty() {
                    return Err(Error::InvalidUri("empty parameter key"));
                }
                let value = if is_number_key(&key) {
                    let (negative, magnitude) = parse_number(v)?;
                    if negative && !key.starts_with("int") {
                        return Err(Error::InvalidUri("negative amount"));
                    }
                    Value::Number {
                        negative,
                        magnitude,
                    }
                } else if key == "address" {
                    Value::Address(parse_target(v)?)
                } else {
                    Value::String(percent_decode(v)?)
                };
                parameters.push((key, value));
            }
        }
        Ok(PaymentRequest {
            pay_prefix,
            target,
            chain_id,
            function,
            parameters,
        })
    }

    /// The first parameter named `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The `value` parameter (wei), if present and unsigned.
    pub fn value(&self) -> Option<U256> {
        self.get("value").and_then(Value::as_u256)
    }

    /// `gasLimit`, or its synonym `gas`.
    pub fn gas_limit(&self) -> Option<U256> {
        self.get("gasLimit")
            .or_else(|| self.get("gas"))
            .and_then(Value::as_u256)
    }

    /// `gasPrice`.
    pub fn gas_price(&self) -> Option<U256> {
        self.get("gasPrice").and_then(Value::as_u256)
    }

    /// For an EIP-20 `transfer` request: the token contract, the recipient
    /// and the amount (EIP-681's "address" and "uint256" parameters).
    pub fn erc20_transfer(&self) -> Option<(Address, Address, U256)> {
        let (Target::Address(token), Some("transfer")) = (&self.target, self.function.as_deref())
        else {
            return None;
        };
        let Some(Value::Address(Target::Address(to))) = self.get("address") else {
            return None;
        };
        let amount = self.get("uint256").and_then(Value::as_u256)?;
        Some((*token, *to, amount))
    }
}

impl std::str::FromStr for PaymentRequest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        PaymentRequest::parse(s)
    }
}

impl fmt::Display for PaymentRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("ethereum:");
        if self.pay_prefix {
            out.push_str("pay-");
        }
        match &self.target {
            Target::Address(a) => out.push_str(&a.to_checksum(None)),
            // Without `pay-`, a '-' in the name would read as an EIP-831
            // prefix: escape it.
            Target::Ens(n) if !self.pay_prefix => {
                let mut t = String::new();
                percent_encode(n, &mut t);
                out.push_str(&t.replace('-', "%2D"));
            }
            Target::Ens(n) => percent_encode(n, &mut out),
        }
        if let Some(c) = self.chain_id {
            out.push_str(&format!("@{c}"));
        }
        if let Some(func) = &self.function {
            out.push('/');
            percent_encode(func, &mut out);
        }
        for (i, (k, v)) in self.parameters.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            percent_encode(k, &mut out);
            out.push('=');
            match v {
                Value::Number {
                    negative,
                    magnitude,
                } => {
                    if *negative {
                        out.push('-');
                    }
                    out.push_str(&magnitude.to_string());
                }
                Value::Address(Target::Address(a)) => out.push_str(&a.to_checksum(None)),
                Value::Address(Target::Ens(n)) => percent_encode(n, &mut out),
                Value::String(s) => percent_encode(s, &mut out),
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let n = |s: &str| parse_number(s).map(|(neg, v)| (neg, v.to_string()));
        assert_eq!(n("1").unwrap(), (false, "1".into()));
        assert_eq!(
            n("2.014e18").unwrap(),
            (false, "2014000000000000000".into())
        );
        assert_eq!(n("-1e3").unwrap(), (true, "1000".into()));
        assert_eq!(n("+.5e1").unwrap(), (false, "5".into()));
        assert_eq!(n("0e999").unwrap(), (false, "0".into()));
        for bad in [
            "", "e5", "1.", "1.5", "1.55e1", "0x10", "1e", "1e-1", "--1", "1e1000", "1e78",
        ] {
            if bad == "1e" {
                // "e" with no digits: exponent 0, as the grammar's [1*DIGIT] allows.
                assert_eq!(n(bad).unwrap(), (false, "1".into()));
                continue;
            }
            assert!(n(bad).is_err(), "{bad}");
        }
        assert!(n(&"9".repeat(78)).is_err());
        assert!(n("1e77").is_ok());
    }

    #[test]
    fn frames() {
        assert!(EthereumUri::parse("bitcoin:0x00").is_err());
        assert!(EthereumUri::parse("ethereum:").is_err());
        assert!(EthereumUri::parse("ethereum:pay-").is_err());
        let u = EthereumUri::parse("ethereum:wallet-connect-abc").unwrap();
        assert_eq!((u.prefix, u.payload), (Some("wallet"), "connect-abc"));
        assert!(PaymentRequest::parse(
            "ethereum:wallet-0x0000000000000000000000000000000000000000"
        )
        .is_err());
    }

    #[test]
    fn hostile_requests() {
        let a = "ethereum:0xfb6916095ca1df60bb79Ce92ce3ea74c37c5d359";
        for bad in [
            format!("{a}?value=-1"),
            format!("{a}?value=abc"),
            format!("{a}?novalue"),
            format!("{a}?=1"),
            format!("{a}@"),
            format!("{a}@1x"),
            format!("{a}@99999999999999999999999"),
            format!("{a}/"),
            format!("{a}/tr%ZZ"),
            format!("{a}?address=nope"),
            "ethereum:0x12".to_string(),
            "ethereum:0xzz6916095ca1df60bb79Ce92ce3ea74c37c5d359".to_string(),
            format!("{a}?{}", "a=b&".repeat(100)),
        ] {
            assert!(PaymentRequest::parse(&bad).is_err(), "{bad}");
        }
        let ens =
            PaymentRequest::parse("ethereum:pay-alice.stateofus.eth@1?value=1e18&label=caf%C3%A9")
                .unwrap();
        assert_eq!(ens.target, Target::Ens("alice.stateofus.eth".into()));
        assert_eq!(ens.chain_id, Some(1));
        assert_eq!(ens.get("label"), Some(&Value::String("café".into())));
        assert_eq!(ens.to_string().parse::<PaymentRequest>().unwrap(), ens);
    }
}
