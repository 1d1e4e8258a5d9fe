//! The TXT entries of an EIP-1459 node tree and the `enrtree://` link.
//!
//! ```text
//! enrtree-root:v1 e=<enr-root> l=<link-root> seq=<n> sig=<base64url 65 bytes>
//! enrtree-branch:<h1>,<h2>,...
//! enrtree://<base32 compressed key>@<fqdn>
//! enr:<base64url record>
//! ```
//!
//! Hashes are unpadded base32 (RFC 4648 alphabet) of the first 16 bytes of
//! `keccak256(entry text)`; like go-ethereum we accept 12 to 32 decoded
//! bytes and check them as a prefix of the full hash.

use std::fmt;
use std::str::FromStr;

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use secp256k1::ecdsa::Signature;
use secp256k1::{Message, SECP256K1};
use status_core::{keccak256, PublicKey, SecretKey};

use crate::enr::Enr;
use crate::Error;

/// Prefix of the root entry.
pub const ROOT_PREFIX: &str = "enrtree-root:v1";
/// Prefix of a branch entry.
pub const BRANCH_PREFIX: &str = "enrtree-branch:";
/// Prefix of a link entry (and of the list URL).
pub const LINK_PREFIX: &str = "enrtree://";

/// Bytes of `keccak256(text)` a builder puts in a subdomain name.
pub const HASH_ABBREV: usize = 16;
/// Shortest hash accepted (go-ethereum `minHashLength`).
const MIN_HASH_LEN: usize = 12;
/// Longest domain name (RFC 1035: 253 characters in text form).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest TXT entry we parse: a UDP DNS answer holds 512 bytes, and the
/// spec asks every entry to fit one.
pub const MAX_ENTRY_LEN: usize = 512;

/// The (abbreviated) keccak256 hash that names a tree entry's subdomain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryHash {
    len: u8,
    bytes: [u8; 32],
}

impl EntryHash {
    /// The 16-byte abbreviated hash of an entry's text, as builders use.
    pub fn of(text: &str) -> Self {
        let full = keccak256(text.as_bytes());
        let mut bytes = [0u8; 32];
        bytes[..HASH_ABBREV].copy_from_slice(&full[..HASH_ABBREV]);
        EntryHash {
            len: HASH_ABBREV as u8,
            bytes,
        }
    }

    /// The decoded hash bytes (12 to 32 of them).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether `text` hashes to this name: the name must be a prefix of
    /// `keccak256(text)` (go-ethereum `bytes.HasPrefix`).
    pub fn matches(&self, text: &str) -> bool {
        let full = keccak256(text.as_bytes());
        full.get(..usize::from(self.len)) == Some(self.as_bytes())
    }
}

impl FromStr for EntryHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        // 32 bytes are 52 base32 characters.
        if s.len() > 52 {
            return Err(Error::InvalidEntry("hash longer than 32 bytes"));
        }
        let decoded = BASE32_NOPAD
            .decode(s.as_bytes())
            .map_err(|_| Error::InvalidEntry("hash is not unpadded base32"))?;
        if decoded.len() < MIN_HASH_LEN || decoded.len() > 32 {
            return Err(Error::InvalidEntry("hash is not 12 to 32 bytes"));
        }
        let mut bytes = [0u8; 32];
        bytes[..decoded.len()].copy_from_slice(&decoded);
        Ok(EntryHash {
            len: decoded.len() as u8,
            bytes,
        })
    }
}

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE32_NOPAD.encode(self.as_bytes()))
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({self})")
    }
}

/// A node list: the key that signs it and the domain it lives at, as an
/// `enrtree://<key>@<domain>` URL names it.
///
/// ```
/// use status_discovery::dnsdisc::Link;
/// use status_discovery::Error;
///
/// // The example list of EIP-1459.
/// let url = "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@morenodes.example.org";
/// let link: Link = url.parse()?;
/// assert_eq!(link.domain, "morenodes.example.org");
/// assert_eq!(link.to_string(), url);
///
/// let no_key = "enrtree://@morenodes.example.org".parse::<Link>();
/// assert!(matches!(no_key, Err(Error::InvalidLink(_))));
/// let bad_domain = Link::new(link.public_key, "nodes..example.org");
/// assert!(matches!(bad_domain, Err(Error::InvalidLink(_))));
/// # Ok::<(), status_discovery::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Link {
    /// The list's signing key.
    pub public_key: PublicKey,
    /// The domain holding the root TXT record.
    pub domain: String,
}

impl Link {
    /// A link to `domain` signed by `public_key`; checks the domain.
    pub fn new(public_key: PublicKey, domain: &str) -> Result<Self, Error> {
        check_domain(domain)?;
        Ok(Link {
            public_key,
            domain: domain.to_owned(),
        })
    }
}

fn check_domain(domain: &str) -> Result<(), Error> {
    if domain.is_empty() || domain.len() > MAX_DOMAIN_LEN {
        return Err(Error::InvalidLink("domain is empty or longer than 253"));
    }
    let ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidLink("domain is not a DNS name"))
    }
}

impl FromStr for Link {
    type Err = Error;
    /// Parses `enrtree://<base32 compressed key>@<domain>`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let rest = s
            .strip_prefix(LINK_PREFIX)
            .ok_or(Error::InvalidLink("missing \"enrtree://\" scheme"))?;
        let (key, domain) = rest
            .split_once('@')
            .ok_or(Error::InvalidLink("missing '@' after the public key"))?;
        // 33 bytes are 53 base32 characters.
        if key.len() != 53 {
            return Err(Error::InvalidLink("public key is not 53 base32 characters"));
        }
        let key = BASE32_NOPAD
            .decode(key.as_bytes())
            .map_err(|_| Error::InvalidLink("public key is not unpadded base32"))?;
        if key.len() != 33 {
            return Err(Error::InvalidLink("public key is not 33 bytes"));
        }
        let public_key = PublicKey::from_slice(&key)
            .map_err(|_| Error::InvalidLink("public key is not on secp256k1"))?;
        Link::new(public_key, domain)
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{LINK_PREFIX}{}@{}",
            BASE32_NOPAD.encode(&self.public_key.to_compressed()),
            self.domain
        )
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Link({self})")
    }
}

/// The signed root entry of a tree.
///
/// ```
/// use status_core::SecretKey;
/// use status_discovery::dnsdisc::{EntryHash, Root};
/// use status_discovery::Error;
///
/// let key = SecretKey::from_bytes(&[1; 32])?;
/// let (e, l) = (EntryHash::of("enrtree-branch:"), EntryHash::of("enrtree-branch:"));
/// let root = Root::sign(e, l, 3, &key);
/// let text = root.to_string(); // the TXT record at the list's domain
/// assert!(text.starts_with("enrtree-root:v1 e="));
/// let parsed: Root = text.parse()?;
/// assert_eq!(parsed, root);
/// parsed.verify(&key.public_key())?;
///
/// // Another key, or a changed sequence number, does not verify.
/// let other = SecretKey::from_bytes(&[2; 32])?.public_key();
/// assert_eq!(parsed.verify(&other), Err(Error::InvalidRootSignature));
/// let bumped: Root = text.replace("seq=3", "seq=4").parse()?;
/// assert_eq!(bumped.verify(&key.public_key()), Err(Error::InvalidRootSignature));
/// // A missing field is a parse error.
/// let cut = text.split(" sig=").next().unwrap();
/// assert!(matches!(cut.parse::<Root>(), Err(Error::InvalidEntry(_))));
/// # Ok::<(), status_discovery::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Root {
    /// Root hash of the ENR subtree.
    pub enr_root: EntryHash,
    /// Root hash of the link subtree.
    pub link_root: EntryHash,
    /// Update sequence number.
    pub seq: u64,
    /// 65-byte `r || s || v` signature over `keccak256` of the text before
    /// ` sig=`.
    pub signature: [u8; 65],
}

impl Root {
    /// The signed text: `enrtree-root:v1 e=.. l=.. seq=..`.
    pub fn signed_text(&self) -> String {
        format!(
            "{ROOT_PREFIX} e={} l={} seq={}",
            self.enr_root, self.link_root, self.seq
        )
    }

    /// A root signed with `key`.
    pub fn sign(enr_root: EntryHash, link_root: EntryHash, seq: u64, key: &SecretKey) -> Root {
        let mut root = Root {
            enr_root,
            link_root,
            seq,
            signature: [0; 65],
        };
        let digest = keccak256(root.signed_text().as_bytes());
        root.signature = *key.sign_recoverable(&digest).as_bytes();
        root
    }

    /// Checks the signature (its `r || s` part) against `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<(), Error> {
        let digest = keccak256(self.signed_text().as_bytes());
        let pk = secp256k1::PublicKey::from_slice(&key.to_compressed())
            .map_err(|_| Error::InvalidRootSignature)?;
        let sig = Signature::from_compact(&self.signature[..64])
            .map_err(|_| Error::InvalidRootSignature)?;
        SECP256K1
            .verify_ecdsa(&Message::from_digest(digest), &sig, &pk)
            .map_err(|_| Error::InvalidRootSignature)
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sig={}",
            self.signed_text(),
            BASE64URL_NOPAD.encode(&self.signature)
        )
    }
}

impl FromStr for Root {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() > MAX_ENTRY_LEN {
            return Err(Error::InvalidEntry("root longer than 512 bytes"));
        }
        let rest = s
            .strip_prefix(ROOT_PREFIX)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(Error::InvalidEntry("not an enrtree-root:v1 entry"))?;
        let mut fields = rest.split(' ');
        let mut field = |name: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .ok_or(Error::InvalidEntry("root fields are not e= l= seq= sig="))
        };
        let enr_root = field("e=")?.parse()?;
        let link_root = field("l=")?.parse()?;
        let seq_text = field("seq=")?;
        let sig = field("sig=")?;
        if fields.next().is_some() {
            return Err(Error::InvalidEntry("extra fields after sig="));
        }
        if seq_text.is_empty() || !seq_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidEntry("seq is not a decimal integer"));
        }
        let seq = seq_text
            .parse()
            .map_err(|_| Error::InvalidEntry("seq does not fit 64 bits"))?;
        let sig = BASE64URL_NOPAD
            .decode(sig.as_bytes())
            .map_err(|_| Error::InvalidEntry("sig is not unpadded URL-safe base64"))?;
        let signature: [u8; 65] = sig
            .try_into()
            .map_err(|_| Error::InvalidEntry("sig is not 65 bytes"))?;
        Ok(Root {
            enr_root,
            link_root,
            seq,
            signature,
        })
    }
}

/// One entry of a tree, below the root.
///
/// Parsing checks the entry's own syntax (and an ENR's signature); whether
/// it hashes to its subdomain is checked with [`EntryHash::matches`].
///
/// ```
/// use status_discovery::dnsdisc::{Entry, EntryHash};
/// use status_discovery::Error;
///
/// let leaf = "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@nodes.example.org";
/// let text = format!("enrtree-branch:{}", EntryHash::of(leaf));
/// let entry: Entry = text.parse()?;
/// assert!(matches!(&entry, Entry::Branch(h) if h == &[EntryHash::of(leaf)]));
/// assert_eq!(entry.to_string(), text);
/// assert!(matches!(leaf.parse()?, Entry::Link(_)));
///
/// // A root is only valid at the top of the tree.
/// let root = "enrtree-root:v1 e=A l=B seq=1 sig=C";
/// assert_eq!(root.parse::<Entry>(), Err(Error::MisplacedEntry("root")));
/// assert!(matches!("v=spf1 -all".parse::<Entry>(), Err(Error::InvalidEntry(_))));
/// # Ok::<(), status_discovery::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Entry {
    /// `enrtree-branch:`: hashes of child entries.
    Branch(Vec<EntryHash>),
    /// `enrtree://`: a link to another list (link subtree only).
    Link(Link),
    /// `enr:`: a node record (ENR subtree only).
    Enr(Enr),
}

impl FromStr for Entry {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() > MAX_ENTRY_LEN {
            return Err(Error::InvalidEntry("entry longer than 512 bytes"));
        }
        if let Some(list) = s.strip_prefix(BRANCH_PREFIX) {
            if list.is_empty() {
                return Ok(Entry::Branch(Vec::new()));
            }
            list.split(',')
                .map(EntryHash::from_str)
                .collect::<Result<_, _>>()
                .map(Entry::Branch)
        } else if s.starts_with(LINK_PREFIX) {
            s.parse().map(Entry::Link)
        } else if s.starts_with(crate::enr::TEXT_PREFIX) {
            Enr::from_text(s).map(Entry::Enr)
        } else if s.starts_with(ROOT_PREFIX) {
            Err(Error::MisplacedEntry("root"))
        } else {
            Err(Error::InvalidEntry("unknown entry type"))
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Branch(hashes) => {
                f.write_str(BRANCH_PREFIX)?;
                for (i, h) in hashes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{h}")?;
                }
                Ok(())
            }
            Entry::Link(link) => write!(f, "{link}"),
            Entry::Enr(enr) => write!(f, "{enr}"),
        }
    }
}
