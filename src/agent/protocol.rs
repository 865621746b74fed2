//! What goes over the agent's socket: one fixed-size request, one fixed-size answer,
//! then the connection closes. Fixed sizes leave nothing to parse and nothing to grow;
//! the buffers that carry a key are wiped.

use zeroize::Zeroizing;

use crate::vault::HeldKey;
use crate::vault::crypto::Key32;

/// tag, vault id, slot, key.
pub const REQUEST_LEN: usize = 1 + 16 + 4 + 32;
/// tag, two numbers (slot and nothing, or keys held and pid), key.
pub const RESPONSE_LEN: usize = 1 + 4 + 4 + 32;

pub enum Request {
    /// The key of this vault, if held (its timer restarts).
    Get([u8; 16]),
    Hold(HeldKey),
    Forget([u8; 16]),
    /// Forget every key and exit.
    Stop,
    Status,
}

pub enum Response {
    Key(HeldKey),
    NotHeld,
    Done,
    Status {
        keys: u32,
        pid: u32,
    },
    /// The request could not be read, or the agent holds as many vaults as it can.
    Refused,
}

pub fn encode_request(request: &Request) -> Zeroizing<[u8; REQUEST_LEN]> {
    let mut buf = Zeroizing::new([0u8; REQUEST_LEN]);
    let (tag, id, slot, key): (u8, Option<&[u8; 16]>, u32, Option<&Key32>) = match request {
        Request::Get(id) => (b'G', Some(id), 0, None),
        Request::Hold(held) => (b'H', Some(&held.vault_id), held.slot, Some(&held.dek)),
        Request::Forget(id) => (b'F', Some(id), 0, None),
        Request::Stop => (b'S', None, 0, None),
        Request::Status => (b'?', None, 0, None),
    };
    buf[0] = tag;
    if let Some(id) = id {
        buf[1..17].copy_from_slice(id);
    }
    buf[17..21].copy_from_slice(&slot.to_be_bytes());
    if let Some(key) = key {
        buf[21..].copy_from_slice(&key[..]);
    }
    buf
}

pub fn decode_request(buf: &[u8; REQUEST_LEN]) -> Option<Request> {
    let id = || -> [u8; 16] {
        let mut id = [0u8; 16];
        id.copy_from_slice(&buf[1..17]);
        id
    };
    Some(match buf[0] {
        b'G' => Request::Get(id()),
        b'H' => Request::Hold(HeldKey {
            vault_id: id(),
            slot: number(&buf[17..21]),
            dek: key(&buf[21..]),
        }),
        b'F' => Request::Forget(id()),
        b'S' => Request::Stop,
        b'?' => Request::Status,
        _ => return None,
    })
}

pub fn encode_response(response: &Response) -> Zeroizing<[u8; RESPONSE_LEN]> {
    let mut buf = Zeroizing::new([0u8; RESPONSE_LEN]);
    match response {
        Response::Key(held) => {
            buf[0] = b'K';
            buf[1..5].copy_from_slice(&held.slot.to_be_bytes());
            buf[9..].copy_from_slice(&held.dek[..]);
        }
        Response::NotHeld => buf[0] = b'N',
        Response::Done => buf[0] = b'D',
        Response::Status { keys, pid } => {
            buf[0] = b'I';
            buf[1..5].copy_from_slice(&keys.to_be_bytes());
            buf[5..9].copy_from_slice(&pid.to_be_bytes());
        }
        Response::Refused => buf[0] = b'R',
    }
    buf
}

/// The answer to a request for `vault_id` (the id is not sent back).
pub fn decode_response(buf: &[u8; RESPONSE_LEN], vault_id: [u8; 16]) -> Option<Response> {
    Some(match buf[0] {
        b'K' => Response::Key(HeldKey {
            vault_id,
            slot: number(&buf[1..5]),
            dek: key(&buf[9..]),
        }),
        b'N' => Response::NotHeld,
        b'D' => Response::Done,
        b'I' => Response::Status {
            keys: number(&buf[1..5]),
            pid: number(&buf[5..9]),
        },
        b'R' => Response::Refused,
        _ => return None,
    })
}

fn number(bytes: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(bytes);
    u32::from_be_bytes(b)
}

fn key(bytes: &[u8]) -> Key32 {
    let mut k = Key32::new([0u8; 32]);
    k.copy_from_slice(bytes);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_key_crosses_the_socket_unchanged() {
        let held = HeldKey {
            vault_id: [7; 16],
            slot: 3,
            dek: Key32::new([9; 32]),
        };
        let buf = encode_request(&Request::Hold(held));
        let Some(Request::Hold(back)) = decode_request(&buf) else {
            panic!("not a hold request");
        };
        assert_eq!((back.vault_id, back.slot, *back.dek), ([7; 16], 3, [9; 32]));
        let buf = encode_response(&Response::Key(back));
        let Some(Response::Key(answer)) = decode_response(&buf, [7; 16]) else {
            panic!("not a key");
        };
        assert_eq!((answer.slot, *answer.dek), (3, [9; 32]));
    }

    #[test]
    fn an_unknown_tag_is_no_request() {
        let mut buf = [0u8; REQUEST_LEN];
        buf[0] = b'X';
        assert!(decode_request(&buf).is_none());
    }
}
