//! Strong random values: the page's "use strong random values" practice, for the CLI's
//! `--generate` and the form's Ctrl-G alike.

use zeroize::Zeroizing;

use super::error::Result;
use super::model::SecretValue;

/// Letters, digits and symbols that survive a shell, a .env file and a URL query without
/// quoting surprises.
pub const ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+=@%";
pub const DEFAULT_LEN: usize = 32;

/// `len` characters from the OS RNG (via orion). Rejection sampling keeps every
/// character equally likely (a plain `byte % len` would favour the first ones).
pub fn value(len: usize) -> Result<SecretValue> {
    let n = ALPHABET.len();
    let limit = 256 - (256 % n); // the largest multiple of n that fits in a byte
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    let mut pool = Zeroizing::new([0u8; 64]);
    while out.len() < len {
        orion::util::secure_rand_bytes(&mut pool[..])?;
        for &b in pool.iter() {
            if (b as usize) < limit && out.len() < len {
                out.push(ALPHABET[b as usize % n]);
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
        let a = value(DEFAULT_LEN).unwrap();
        let b = value(DEFAULT_LEN).unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.iter().all(|c| ALPHABET.contains(c)));
        assert_ne!(a, b);
    }

    #[test]
    fn generator_is_roughly_uniform() {
        let mut counts = [0usize; 256];
        for b in value(70_000).unwrap().iter() {
            counts[*b as usize] += 1;
        }
        let expected = 70_000 / ALPHABET.len();
        for &c in ALPHABET {
            let n = counts[c as usize];
            assert!(
                n > expected * 8 / 10 && n < expected * 12 / 10,
                "{} {n}",
                c as char
            );
        }
    }
}
