//! Installations: the devices of one identity (5/SECURE-TRANSPORT
//! "Multi-device support", status-go `multidevice`).

/// What the user told us about a device (status-go `InstallationMetadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallationMetadata {
    /// Device name.
    pub name: String,
    /// Device type (free text, e.g. "ios").
    pub device_type: String,
    /// Push token.
    pub fcm_token: String,
}

/// One device of an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The identity it belongs to (compressed public key).
    pub identity: [u8; 33],
    /// Its installation id.
    pub id: String,
    /// Protocol version from its signed prekey.
    pub version: u32,
    /// Whether messages are sent to it. A peer's devices are enabled when
    /// first seen; our own other devices need pairing
    /// ([`Encryptor::enable_installation`](crate::Encryptor::enable_installation)).
    pub enabled: bool,
    /// Timestamp (ns, from the bundle) of its last activity: the cap on
    /// installations keeps the most recent ones.
    pub timestamp: i64,
    /// Optional metadata.
    pub metadata: Option<InstallationMetadata>,
}
