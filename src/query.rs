//! Query values as the product writes them into Microsoft's URLs, one way everywhere: every byte but RFC 3986's
//! unreserved characters (`A-Z a-z 0-9 - . _ ~`) percent-encoded, so a space is `%20` (never `+`, which only HTML
//! forms read as a space) and an OData quote is `%27`. A leaf: the pure wizard uses it too.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but the unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `value`, percent-encoded for a query string.
pub fn value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn spaces_quotes_and_reserved_characters_are_encoded_the_one_way() {
        assert_eq!(super::value("appId eq 'a-b_c.d~e'"), "appId%20eq%20%27a-b_c.d~e%27");
        assert_eq!(
            super::value("https://graph.microsoft.com/.default"),
            "https%3A%2F%2Fgraph.microsoft.com%2F.default"
        );
        assert_eq!(super::value("a+b&c=d#é"), "a%2Bb%26c%3Dd%23%C3%A9");
        let round: String = url::form_urlencoded::parse(format!("x={}", super::value("o'brien @x + y")).as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(round, "o'brien @x + y", "what Graph's parser reads back");
    }
}
