//! A Status account (2/ACCOUNT "Initial Key Generation"): the chat
//! identity key and the wallet keys, all derived from one mnemonic.

use status_core::{PublicKey, SecretKey};

use crate::path::{ChildNumber, DerivationPath, HARDENED};
use crate::{alias, Address, Error, ExtendedPrivateKey, Mnemonic, Seed};

/// Path of the chat identity key `IK` (EIP-1581: purpose 43', Ethereum
/// 60', EIP-1581 1581', key type 0', index 0).
pub const CHAT_KEY_PATH: &str = "m/43'/60'/1581'/0'/0";

/// Parent of the wallet keys (BIP44: purpose 44', Ethereum 60', account
/// 0', external chain 0); wallet key `i` is its child `i`.
pub const WALLET_ROOT_PATH: &str = "m/44'/60'/0'/0";

const CHAT_KEY_CHILDREN: [u32; 5] = [43 | HARDENED, 60 | HARDENED, 1581 | HARDENED, HARDENED, 0];
const WALLET_ROOT_CHILDREN: [u32; 4] = [44 | HARDENED, 60 | HARDENED, HARDENED, 0];

fn path_of(children: &[u32]) -> DerivationPath {
    match DerivationPath::from_children(
        children.iter().map(|&c| ChildNumber::from_u32(c)).collect(),
    ) {
        Ok(p) => p,
        Err(_) => unreachable!("constant paths are short"),
    }
}

/// The keys of one Status account. All secrets are erased on drop.
///
/// ```
/// use status_keys::Account;
/// let words = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/// let account = Account::from_mnemonic(words, "TREZOR").unwrap();
/// assert_eq!(
///     account.wallet_address(0).unwrap().to_string(),
///     "0x9c32F71D4DB8Fb9e1A58B0a80dF79935e7256FA6"
/// );
/// println!("{} {}", account.name(), account.chat_key_base58());
/// ```
#[derive(Clone)]
pub struct Account {
    master: ExtendedPrivateKey,
    chat: ExtendedPrivateKey,
    wallet_root: ExtendedPrivateKey,
}

impl Account {
    /// Parses and validates `words` (BIP39, English), derives the seed with
    /// `passphrase` (often empty) and the Status keys from it.
    pub fn from_mnemonic(words: &str, passphrase: &str) -> Result<Self, Error> {
        let mnemonic = Mnemonic::parse(words)?;
        Self::from_seed(&mnemonic.to_seed(passphrase))
    }

    /// The account of a BIP39 seed.
    pub fn from_seed(seed: &Seed) -> Result<Self, Error> {
        Self::from_master(ExtendedPrivateKey::from_seed(seed)?)
    }

    /// The account under a BIP32 master key.
    pub fn from_master(master: ExtendedPrivateKey) -> Result<Self, Error> {
        let chat = master.derive_path(&path_of(&CHAT_KEY_CHILDREN))?;
        let wallet_root = master.derive_path(&path_of(&WALLET_ROOT_CHILDREN))?;
        Ok(Account {
            master,
            chat,
            wallet_root,
        })
    }

    /// The BIP32 master key (for other paths).
    pub fn master(&self) -> &ExtendedPrivateKey {
        &self.master
    }

    /// The chat identity private key `IK` at [`CHAT_KEY_PATH`].
    pub fn chat_key(&self) -> SecretKey {
        self.chat.secret_key()
    }

    /// The chat identity public key: what contacts know you by.
    pub fn chat_public_key(&self) -> PublicKey {
        self.chat.public_key()
    }

    /// The chat public key in the compressed `zQ3...` form (2/ACCOUNT
    /// "Public Key Serialization", base58btc).
    pub fn chat_key_base58(&self) -> String {
        crate::encode_public_key(
            &self.chat_public_key(),
            crate::KeyForm::Compressed,
            crate::Multibase::Base58Btc,
        )
    }

    /// The 3-word pseudonym of the chat key, as status-go shows it.
    pub fn name(&self) -> String {
        alias::generate(&self.chat_public_key())
    }

    /// Wallet key `i` at `m/44'/60'/0'/0/i` (`i` below 2^31).
    pub fn wallet_key(&self, i: u32) -> Result<SecretKey, Error> {
        Ok(self
            .wallet_root
            .derive_child(ChildNumber::normal(i)?)?
            .secret_key())
    }

    /// The Ethereum address of wallet key `i`.
    pub fn wallet_address(&self, i: u32) -> Result<Address, Error> {
        let key = self.wallet_root.derive_child(ChildNumber::normal(i)?)?;
        Ok(Address::from_public_key(&key.public_key()))
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("chat_public_key", &self.chat_public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_paths_match_their_strings() {
        assert_eq!(path_of(&CHAT_KEY_CHILDREN).to_string(), CHAT_KEY_PATH);
        assert_eq!(path_of(&WALLET_ROOT_CHILDREN).to_string(), WALLET_ROOT_PATH);
    }

    #[test]
    fn chat_key_is_the_eip1581_path_and_differs_from_wallet_key_0() {
        let words = "legal winner thank year wave sausage worth useful legal winner thank yellow";
        let account = Account::from_mnemonic(words, "").unwrap();
        let seed = Mnemonic::parse(words).unwrap().to_seed("");
        let master = ExtendedPrivateKey::from_seed(&seed).unwrap();
        let chat = master.derive_path(&CHAT_KEY_PATH.parse().unwrap()).unwrap();
        assert_eq!(account.chat_public_key(), chat.public_key());
        assert_ne!(
            account.chat_public_key(),
            account.wallet_key(0).unwrap().public_key()
        );
    }

    #[test]
    fn wallet_index_must_be_normal() {
        let words = "legal winner thank year wave sausage worth useful legal winner thank yellow";
        let account = Account::from_mnemonic(words, "").unwrap();
        assert_eq!(
            account.wallet_address(HARDENED).err(),
            Some(Error::IndexTooLarge(u64::from(HARDENED)))
        );
    }
}
