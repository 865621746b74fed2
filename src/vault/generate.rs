//! Strong random values: the page's "use strong random values" practice, for the CLI's
//! `--generate` and the form's Ctrl-G alike.

use zeroize::Zeroizing;

use super::error::Result;
use super::model::SecretValue;

/// The characters a generated value is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// Letters, digits, `-` and `_`: URL-unreserved, so the value goes into
    /// `postgres://user:VALUE@host` unchanged, and needs no quoting in a shell or a .env
    /// file. 64 characters: 6 bits each.
    #[default]
    Urlsafe,
    /// Letters and digits only, for systems that accept nothing else.
    Alnum,
    /// Letters, digits and punctuation, for systems that demand a symbol. Such values
    /// need escaping in URLs and quoting in shells.
    Symbols,
    /// `0-9a-f`, for keys given as hex.
    Hex,
}

const LETTERS_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Charset {
    pub const ALL: [Charset; 4] = [
        Charset::Urlsafe,
        Charset::Alnum,
        Charset::Symbols,
        Charset::Hex,
    ];

    /// The name used by `--charset` and shown in the form.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Urlsafe => "urlsafe",
            Charset::Alnum => "alnum",
            Charset::Symbols => "symbols",
            Charset::Hex => "hex",
        }
    }

    pub fn parse(name: &str) -> Option<Charset> {
        Charset::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn alphabet(self) -> &'static [u8] {
        match self {
            Charset::Urlsafe => URLSAFE,
            Charset::Alnum => LETTERS_DIGITS.as_bytes(),
            // Printable ASCII but space, quotes, backslash and backtick, which break
            // quoting in shells, .env files and JSON written by hand.
            Charset::Symbols => {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~"
            }
            Charset::Hex => b"0123456789abcdef",
        }
    }

    /// The one after this in [`Charset::ALL`], round: what Ctrl-G pressed again picks.
    pub fn next(self) -> Charset {
        let i = Charset::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Charset::ALL[(i + 1) % Charset::ALL.len()]
    }
}

const URLSAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The default charset's characters.
pub const ALPHABET: &[u8] = URLSAFE;
pub const DEFAULT_LEN: usize = 32;

/// `len` characters of the default charset from the OS RNG (via orion).
pub fn value(len: usize) -> Result<SecretValue> {
    value_from(Charset::default(), len)
}

/// `len` characters of `charset` from the OS RNG (via orion). Rejection sampling keeps
/// every character equally likely (a plain `byte % len` would favour the first ones).
pub fn value_from(charset: Charset, len: usize) -> Result<SecretValue> {
    let alphabet = charset.alphabet();
    let n = alphabet.len();
    let limit = 256 - (256 % n); // the largest multiple of n that fits in a byte
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    let mut pool = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        orion::util::secure_rand_bytes(&mut pool[..])?;
        for &b in pool.iter() {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % n]);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_use_the_alphabet_and_differ() {
        for charset in Charset::ALL {
            let a = value_from(charset, DEFAULT_LEN).unwrap();
            let b = value_from(charset, DEFAULT_LEN).unwrap();
            assert_eq!(a.len(), 32);
            assert!(a.iter().all(|c| charset.alphabet().contains(c)));
            assert_ne!(a, b);
        }
        assert!(
            value(DEFAULT_LEN)
                .unwrap()
                .iter()
                .all(|c| ALPHABET.contains(c))
        );
    }

    #[test]
    fn generator_is_roughly_uniform() {
        for charset in Charset::ALL {
            let alphabet = charset.alphabet();
            let mut counts = [0usize; 256];
            for b in value_from(charset, 70_000).unwrap().iter() {
                counts[*b as usize] += 1;
            }
            let expected = 70_000 / alphabet.len();
            for &c in alphabet {
                let n = counts[c as usize];
                assert!(
                    n > expected * 8 / 10 && n < expected * 12 / 10,
                    "{charset:?} {} {n}",
                    c as char
                );
            }
        }
    }

    #[test]
    fn alphabets_have_no_duplicates() {
        for charset in Charset::ALL {
            let mut seen = charset.alphabet().to_vec();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), charset.alphabet().len(), "{charset:?}");
        }
    }

    #[test]
    fn default_values_need_no_escaping_in_a_url() {
        // RFC 3986 unreserved characters, minus `.` and `~` (a `.` alone is a path step,
        // and some tools escape `~`).
        for _ in 0..100 {
            let v = value(DEFAULT_LEN).unwrap();
            assert!(
                v.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
            );
        }
        for charset in Charset::ALL {
            assert_eq!(Charset::parse(charset.name()), Some(charset));
        }
        assert_eq!(Charset::Hex.next(), Charset::Urlsafe);
    }
}
