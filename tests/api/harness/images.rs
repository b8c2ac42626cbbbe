//! Product images, typed: upload a raw body, delete, fetch `/media/...`, and
//! make test images with the `image` crate.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};
use reqwest::{Method, Response};

use super::TestApp;

/// `app.images()`.
pub struct ImagesApi<'a>(pub(super) &'a TestApp);

impl ImagesApi<'_> {
    /// `POST /api/products/{id}/images` with a raw body of `content_type`.
    pub async fn upload(
        &self,
        token: Option<&str>,
        product: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Response {
        let mut request = self
            .0
            .client
            .post(self.0.url(&format!("/api/products/{product}/images")))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("upload")
    }

    /// `DELETE /api/products/{id}/images/{imageId}`.
    pub async fn delete(&self, token: Option<&str>, product: &str, image: &str) -> Response {
        self.0
            .send(
                Method::DELETE,
                &format!("/api/products/{product}/images/{image}"),
                token,
                None,
            )
            .await
    }

    /// Where the app's images are publicly read: `/media/` on the files
    /// adapter, the container's URL (with a trailing `/`) on Azurite.
    pub fn public_base(&self) -> String {
        let key = jojomart_shared::blob::BlobKey::parse("k").expect("a key");
        let url = self.0.state.adapters().blobs.public_url(&key);
        url.trim_end_matches('k').to_owned()
    }

    /// GET an image URL as the product lists it (absolute, or `/media/...` under `dev`),
    /// with `If-None-Match: etag` when given.
    pub async fn fetch_if_none_match(&self, url: &str, etag: &str) -> Response {
        self.0
            .client
            .get(self.absolute(url))
            .header("if-none-match", etag)
            .send()
            .await
            .expect("GET media")
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            self.0.url(url)
        } else {
            url.to_owned()
        }
    }

    /// GET an image URL as the product lists it (absolute, or `/media/...` under `dev`).
    pub async fn fetch(&self, url: &str) -> Response {
        self.0
            .client
            .get(self.absolute(url))
            .send()
            .await
            .expect("GET media")
    }
}

/// A `width` × `height` gradient (no two neighbouring pixels alike, so it does not compress away).
pub fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 7 % 256) as u8,
            (y * 5 % 256) as u8,
            ((x ^ y) % 256) as u8,
        ])
    })
}

/// `image` encoded as `format`.
pub fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A PNG whose header claims `width` × `height` (a 1×1 image with its IHDR
/// rewritten, CRC fixed): what a decompression bomb's header looks like.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = encode(&gradient(1, 1), ImageFormat::Png);
    // 8-byte signature, 4-byte length, "IHDR", then width and height.
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
