//! Token signing for the simulated identity platform: one RS256 key generated at start, published as a JWKS.
//!
//! Owns the private key; nothing outside `sim` sees it. Clients verify tokens against the keys endpoint only.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::clock;

/// The simulator's signing key and its published form.
pub struct Signer {
    key: RsaKeyPair,
    /// Key id, as in Microsoft's `kid` header and JWKS entry.
    pub kid: String,
    modulus_b64: String,
    exponent_b64: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// Key generation failed: the platform's crypto library refused to make an RSA key.
#[derive(Debug, thiserror::Error)]
#[error("could not generate the simulator's RSA signing key")]
pub struct KeyGenError;

impl Signer {
    /// A fresh 2048-bit RSA key (what Microsoft's keys endpoint publishes).
    pub fn generate() -> Result<Self, KeyGenError> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyGenError)?;
        let public = key.public_key();
        let modulus_b64 = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let exponent_b64 = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        // Microsoft's kids are base64url thumbprints; a random one of the same length reads the same.
        let kid = URL_SAFE_NO_PAD.encode(clock::random_bytes::<20>());
        Ok(Self { key, kid, modulus_b64, exponent_b64 })
    }

    /// Signs `claims` as a compact JWS with `alg: RS256`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": self.kid });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        // Signing with a key we generated ourselves cannot fail short of a crypto-library bug; an empty
        // signature then makes every verifier reject the token, which is the honest outcome.
        if self.key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut signature).is_err() {
            signature.clear();
        }
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Verifies a token this simulator signed and returns its claims, or `None` when the signature, shape or
    /// expiry is wrong.
    pub fn verify(&self, token: &str, now_unix: u64) -> Option<Value> {
        let (input, signature) = token.rsplit_once('.')?;
        let (_header, payload) = input.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, self.key.public_key().as_ref());
        public.verify(input.as_bytes(), &signature).ok()?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let exp = claims.get("exp").and_then(Value::as_u64)?;
        (exp > now_unix).then_some(claims)
    }

    /// The JWKS entry, shaped like one of `login.microsoftonline.com/{tenant}/discovery/v2.0/keys`.
    pub fn jwk(&self, issuer: &str) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": self.modulus_b64,
            "e": self.exponent_b64,
            "issuer": issuer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::RsaPublicKeyComponents;

    #[test]
    fn signature_verifies_against_published_key() {
        let signer = Signer::generate().unwrap();
        let token = signer.sign(&json!({"sub": "x"}));
        let jwk = signer.jwk("https://example/tid/v2.0");
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        RsaPublicKeyComponents { n: &n, e: &e }.verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &sig).unwrap();
        let mut tampered = input.to_owned();
        tampered.push('x');
        assert!(
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, tampered.as_bytes(), &sig)
                .is_err()
        );
    }

    #[test]
    fn verify_accepts_own_tokens_and_rejects_expired_or_forged() {
        let signer = Signer::generate().unwrap();
        let token = signer.sign(&json!({"exp": 200}));
        assert_eq!(signer.verify(&token, 100).unwrap()["exp"], 200);
        assert!(signer.verify(&token, 300).is_none());
        let other = Signer::generate().unwrap().sign(&json!({"exp": 200}));
        assert!(signer.verify(&other, 100).is_none());
        assert!(signer.verify("not.a.token", 100).is_none());
    }
}
