//! Base64 as MCP uses it, on the `base64` crate: one place for the three rules the protocol
//! needs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Standard base64 with padding (RFC 4648 §4), as MCP's `blob` and `data` fields use.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard, padded base64 and nothing else (header values, `requestState`).
pub(crate) fn decode_strict(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Standard base64, padding optional and ASCII whitespace ignored (content a tool produced,
/// which only the REST view's image route decodes).
#[cfg(feature = "rest-view")]
pub(crate) fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    use base64::alphabet;
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

    /// Standard alphabet, padding optional on input: what clients put in `blob` and `data`
    /// fields is not always padded.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_rules() {
        for (plain, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v")] {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode_strict(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(decode_strict("Zg"), None, "strict wants padding");
        assert_eq!(decode_strict("!!"), None);
    }

    #[cfg(feature = "rest-view")]
    #[test]
    fn lenient() {
        assert_eq!(decode_lenient("aGVs\nbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_lenient("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_lenient("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_lenient("").as_deref(), Some(&b""[..]));
        assert_eq!(
            decode_lenient("iVBORw0KGgo=").map(|b| b[..4].to_vec()),
            Some(vec![0x89, b'P', b'N', b'G'])
        );
        assert_eq!(decode_lenient("not base64!"), None);
    }
}
