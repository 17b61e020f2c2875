//! The loopback listener's answer to any request head: never panics, never echoes markup, and yields a callback
//! only for a `GET` on the redirect path, to this listener's host and port, with the awaited `state`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mspbots_setup::auth::loopback::{Pages, answer_request};
use mspbots_setup::auth::signin::redirect_failure;
use mspbots_setup::secret::Secret;

fuzz_target!(|head: &[u8]| {
    let pages = Pages { product: "MSPbots".into() };
    let (page, callback) = answer_request(head, &Secret::new("fuzz-state"), 5000, "/cb", &pages);
    let (headers, body) = page.split_once("\r\n\r\n").expect("a head and a body");
    assert!(headers.starts_with("HTTP/1.1 "));
    assert!(headers.contains(&format!("Content-Length: {}\r\n", body.len())));
    assert!(!body.contains("<script"), "markup from the request reached the page");
    if let Some(callback) = callback {
        assert!(headers.starts_with("HTTP/1.1 200 "));
        assert_eq!(callback.get("state"), Some("fuzz-state"));
        let text = std::str::from_utf8(head).expect("a matched request is text");
        assert!(text.starts_with("GET /cb?") || text.starts_with("GET /cb "));
        if callback.get("error").is_some() {
            let _failure = redirect_failure(&callback, "fuzz");
        }
    }
});
