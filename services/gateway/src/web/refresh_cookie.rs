//! The browser's refresh token: an `HttpOnly`, `SameSite=Strict` cookie sent only to the
//! refresh route, so the page's script never holds a long-lived credential (the access
//! token lives in memory and dies with the tab).
//!
//! A browser asks for it with `Tsunagu-Refresh-Cookie: true` on sign-in and on refresh;
//! the refresh token then travels in the cookie instead of the JSON body, and rotates
//! exactly as it does in the body (each one works once). Without the header nothing
//! changes: API clients keep the token in the body.
//!
//! Why no cross-site request can use the cookie (CSRF):
//! - `SameSite=Strict`: the browser sends it only on requests from this site;
//! - `Path=/api/v1/sessions/refresh`: it reaches no other route, and every other route
//!   takes a bearer token, which the browser never attaches by itself;
//! - a request using it must carry the custom header and a JSON body, which no form or
//!   plain link can send, and which makes any cross-origin script's request preflighted
//!   (CORS never allows credentials here);
//! - its `Origin` must be this host: a request that says it comes from anywhere else, or
//!   does not say, is refused before the token is read;
//! - the answer holds an access token only the calling page can read (CORS, no credentials).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use problem::Problem;

use crate::error::ApiError;

/// The cookie's name.
pub const COOKIE: &str = "tsunagu_refresh";
/// The only path the cookie is sent to.
pub const PATH: &str = "/api/v1/sessions/refresh";
/// The request header with which a browser asks for the cookie.
pub const MODE_HEADER: &str = "tsunagu-refresh-cookie";

/// Where a request's refresh token travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// In the JSON bodies, as for API clients.
    Body,
    /// In the cookie; `secure` when the page was loaded over HTTPS (the cookie then never
    /// travels over plain HTTP).
    Cookie { secure: bool },
}

fn refused(detail: &str) -> ApiError {
    ApiError(
        Problem::new(403, "cross-site-request", "Cross-site request refused").with_detail(detail),
    )
}

/// How this request wants its refresh token carried; a cookie request whose `Origin` is
/// not this host is refused.
pub fn carrier(headers: &HeaderMap) -> Result<Carrier, ApiError> {
    let asked = match headers.get(MODE_HEADER).map(HeaderValue::as_bytes) {
        None | Some(b"false") => false,
        Some(b"true") => true,
        Some(_) => {
            let detail = "must be true or false";
            return Err(ApiError(
                Problem::new(400, "invalid-header", "A header is invalid")
                    .with_detail(format!("Tsunagu-Refresh-Cookie {detail}"))
                    .with_field("/headers/Tsunagu-Refresh-Cookie", detail),
            ));
        }
    };
    if !asked {
        return Ok(Carrier::Body);
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refused("a request using the refresh cookie must say its Origin"))?;
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (scheme, authority) = origin
        .split_once("://")
        .ok_or_else(|| refused("the Origin is not this site"))?;
    if authority.is_empty() || !authority.eq_ignore_ascii_case(host) {
        return Err(refused("the Origin is not this site"));
    }
    match scheme {
        "https" => Ok(Carrier::Cookie { secure: true }),
        "http" => Ok(Carrier::Cookie { secure: false }),
        _ => Err(refused("the Origin is not this site")),
    }
}

/// The refresh token in the request's cookie, if it holds one.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// Moves the refresh token out of a sign-in or refresh answer's JSON into the cookie.
pub fn into_cookie(mut value: serde_json::Value, secure: bool) -> (serde_json::Value, HeaderValue) {
    let token = value
        .as_object_mut()
        .and_then(|o| o.remove("refresh_token"))
        .and_then(|t| t.as_str().map(str::to_owned))
        .unwrap_or_default();
    (value, set_cookie(&token, secure))
}

fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    // Tokens are URL-safe (base64url or hex), so they need no quoting. No Max-Age: the
    // cookie ends with the browser session; the session itself ends at sign-out.
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path={PATH}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| cleared())
}

/// The `Set-Cookie` that deletes the cookie (sign-out, a refused refresh).
pub fn cleared() -> HeaderValue {
    HeaderValue::from_static(
        "tsunagu_refresh=; Path=/api/v1/sessions/refresh; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

/// Adds `cookie` to a response.
pub fn with_cookie(mut response: Response, cookie: HeaderValue) -> Response {
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// A sign-in or refresh answer as the carrier wants it: for a browser, the refresh token
/// leaves the JSON for the cookie; a refused refresh deletes a stale cookie.
pub async fn carry(
    answer: Result<Response, ApiError>,
    carrier: Carrier,
) -> Result<Response, ApiError> {
    let Carrier::Cookie { secure } = carrier else {
        return answer;
    };
    match answer {
        Ok(response) if response.status().is_success() => {
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .map_err(|_| ApiError(Problem::internal()))?;
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|_| ApiError(Problem::internal()))?;
            let (value, cookie) = into_cookie(value, secure);
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.append(header::SET_COOKIE, cookie);
            let body = serde_json::to_vec(&value).map_err(|_| ApiError(Problem::internal()))?;
            Ok(Response::from_parts(parts, axum::body::Body::from(body)))
        }
        Ok(other) => Ok(other),
        Err(ApiError(p)) if p.status == 401 => {
            Ok(with_cookie(crate::error::problem_response(p), cleared()))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn api_clients_keep_the_token_in_the_body() {
        assert_eq!(carrier(&headers(&[])).unwrap(), Carrier::Body);
        assert_eq!(
            carrier(&headers(&[(MODE_HEADER, "false")])).unwrap(),
            Carrier::Body
        );
        assert!(carrier(&headers(&[(MODE_HEADER, "yes")])).is_err());
    }

    #[test]
    fn the_cookie_is_only_for_a_page_of_this_host_and_secure_when_it_came_over_https() {
        let page = |origin: &'static str, host: &'static str| {
            carrier(&headers(&[
                (MODE_HEADER, "true"),
                ("origin", origin),
                ("host", host),
            ]))
        };
        assert_eq!(
            page("http://127.0.0.1:8080", "127.0.0.1:8080").unwrap(),
            Carrier::Cookie { secure: false }
        );
        assert_eq!(
            page("https://tsunagu.example.jp", "tsunagu.example.jp").unwrap(),
            Carrier::Cookie { secure: true }
        );
        for (origin, host) in [
            ("https://evil.example", "tsunagu.example.jp"),
            ("http://127.0.0.1:8081", "127.0.0.1:8080"),
            ("null", "127.0.0.1:8080"),
        ] {
            let ApiError(p) = page(origin, host).unwrap_err();
            assert_eq!(p.status, 403, "{origin}");
        }
        let ApiError(p) = carrier(&headers(&[
            (MODE_HEADER, "true"),
            ("host", "127.0.0.1:8080"),
        ]))
        .unwrap_err();
        assert_eq!(p.status, 403, "no Origin at all");
    }

    #[test]
    fn the_token_moves_from_the_answer_into_a_strict_http_only_cookie_scoped_to_refresh() {
        let answer =
            serde_json::json!({"access_token": "a", "refresh_token": "r-1", "expires_in": 900});
        let (body, cookie) = into_cookie(answer, true);
        assert!(body.get("refresh_token").is_none());
        assert_eq!(body["access_token"], "a");
        assert_eq!(
            cookie.to_str().unwrap(),
            "tsunagu_refresh=r-1; Path=/api/v1/sessions/refresh; HttpOnly; SameSite=Strict; Secure"
        );
        let (_, plain) = into_cookie(serde_json::json!({"refresh_token": "r-2"}), false);
        assert!(!plain.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn the_token_is_read_back_from_among_other_cookies() {
        let h = headers(&[("cookie", "theme=dark; tsunagu_refresh=r-9; lang=ja")]);
        assert_eq!(token_from(&h).as_deref(), Some("r-9"));
        assert_eq!(
            token_from(&headers(&[("cookie", "tsunagu_refresh=")])),
            None
        );
        assert_eq!(token_from(&headers(&[])), None);
    }
}
