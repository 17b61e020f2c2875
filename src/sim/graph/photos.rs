//! Profile photos: `/users/{id}/photo` (metadata of the largest), `/photo/$value`, `/photos` (the sizes) and
//! `/photos/{size}/$value`. Users without a photo get Microsoft's 404 `ImageNotFound`. The bytes are real JPEGs,
//! drawn per user (a head-and-shoulders silhouette on a colour of their own) and cached.

use std::io::Cursor;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{authorize, graph_error, graph_ok, set_header, with_context};
use crate::sim::Shared;
use crate::sim::clock;
use crate::sim::directory::Account;

/// Sizes Exchange keeps for a photo, smallest first; the simulated uploads were 240x240.
const SIZES: &[u32] = &[48, 64, 96, 120, 240];

/// Microsoft's list for user photos (`Directory.Read.All` is not on it).
const READ_PHOTOS: &[&str] = &[
    "ProfilePhoto.Read.All",
    "ProfilePhoto.ReadWrite.All",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
];

fn image_not_found(headers: &HeaderMap) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "ImageNotFound",
        "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
        headers,
    )
}

/// The user `id` when the caller may see their photo and they have one; the Graph error otherwise.
fn owner(shared: &Shared, headers: &HeaderMap, id: &str) -> Result<Account, Response> {
    let caller = authorize(shared, headers, READ_PHOTOS)?;
    let account = shared.lock().dir.person(id).filter(|a| a.home_tenant_id == caller.tenant_id()).cloned();
    let Some(account) = account else {
        return Err(graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
            headers,
        ));
    };
    if account.spec.photo { Ok(account) } else { Err(image_not_found(headers)) }
}

fn etag(account: &Account) -> String {
    format!("\"{}\"", &clock::stable_guid("photo", &account.object_id)[..8].to_ascii_uppercase())
}

fn metadata_json(account: &Account, size: u32) -> Value {
    json!({
        "@odata.mediaContentType": "image/jpeg",
        "@odata.mediaEtag": etag(account),
        "id": format!("{size}x{size}"),
        "width": size,
        "height": size,
    })
}

/// `GET /v1.0/users/{id}/photo`: metadata of the largest size.
pub async fn metadata(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match owner(&shared, &headers, &id) {
        Ok(a) => {
            let largest = SIZES.last().copied().unwrap_or(240);
            let context = format!("users('{}')/photo/$entity", a.object_id);
            graph_ok(&headers, with_context(&shared, &context, metadata_json(&a, largest)))
        }
        Err(r) => r,
    }
}

/// `GET /v1.0/users/{id}/photos`: every size.
pub async fn sizes(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match owner(&shared, &headers, &id) {
        Ok(a) => {
            let sizes = json!({ "value": SIZES.iter().map(|s| metadata_json(&a, *s)).collect::<Vec<_>>() });
            graph_ok(&headers, with_context(&shared, &format!("users('{}')/photos", a.object_id), sizes))
        }
        Err(r) => r,
    }
}

/// `GET /v1.0/users/{id}/photo/$value`: the largest photo.
pub async fn largest(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match owner(&shared, &headers, &id) {
        Ok(a) => jpeg_response(&shared, &headers, &a, SIZES.last().copied().unwrap_or(240)),
        Err(r) => r,
    }
}

/// `GET /v1.0/users/{id}/photos/{size}/$value` with `size` like `48x48`.
pub async fn sized(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, size)): Path<(String, String)>,
) -> Response {
    let account = match owner(&shared, &headers, &id) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let parsed = size.split_once('x').and_then(|(w, h)| (w == h).then(|| w.parse::<u32>().ok()).flatten());
    match parsed.filter(|s| SIZES.contains(s)) {
        Some(s) => jpeg_response(&shared, &headers, &account, s),
        None => image_not_found(&headers),
    }
}

fn jpeg_response(shared: &Shared, headers: &HeaderMap, account: &Account, size: u32) -> Response {
    let key = (account.object_id.clone(), size);
    let cached = shared.photos.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
    let bytes = match cached {
        Some(b) => b,
        None => {
            let b = draw(&account.object_id, size);
            shared.photos.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, b.clone());
            b
        }
    };
    let mut response = bytes.into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("image/jpeg"));
    set_header(&mut response, "etag", &etag(account));
    let request_id = clock::new_guid();
    set_header(&mut response, "request-id", &request_id);
    let client = headers.get("client-request-id").and_then(|v| v.to_str().ok()).unwrap_or(&request_id).to_owned();
    set_header(&mut response, "client-request-id", &client);
    response
}

/// Draws a head-and-shoulders silhouette on a background colour derived from `seed`, as a JPEG.
fn draw(seed: &str, size: u32) -> Vec<u8> {
    let h = seed.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let [r, g, b, _] = h.to_le_bytes();
    let background = image::Rgb([96 + r / 3, 96 + g / 3, 96 + b / 3]);
    let figure = image::Rgb([235, 235, 240]);
    let s = size as f32;
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        let head = (fx - s * 0.5).powi(2) + (fy - s * 0.38).powi(2) <= (s * 0.2).powi(2);
        let body = (fx - s * 0.5).powi(2) / (s * 0.36).powi(2) + (fy - s * 1.0).powi(2) / (s * 0.38).powi(2) <= 1.0;
        if head || body { figure } else { background }
    });
    let mut out = Cursor::new(Vec::new());
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    // Encoding an in-memory RGB image into a Vec cannot fail for these sizes; an empty body would show as a
    // broken image, which is what a client should then handle anyway.
    if img.write_with_encoder(encoder).is_err() {
        return Vec::new();
    }
    out.into_inner()
}
