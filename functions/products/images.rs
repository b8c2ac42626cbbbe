//! Product images: an upload is decoded (JPEG, PNG or WebP only, at most
//! [`MAX_PIXELS`]), resized to WebP variants of 160, 640 and 1280 px on the
//! longest side (never upscaled), and put through the blob port under
//! content-addressed keys (`products/<id>/<sha>-<size>.webp`, cached for a
//! year as immutable); the product document records them in `imageSet`, and
//! its listed `images` gain the large variant's URL.
//!
//! Blobs are written before the product: an upload that dies between the two
//! leaves unreferenced blobs (harmless, content-addressed), never a product
//! pointing at a missing one. Deleting an image or a product deletes its
//! blobs after the product write, best effort (a failure is logged, the blob
//! stays unreferenced).

use std::io::Cursor;

use bytes::Bytes;
use image::{imageops::FilterType, DynamicImage, ImageFormat, ImageReader, Limits};
use jojomart_shared::{
    blob::{BlobKey, BlobProperties, SharedBlobs},
    domain::ProductId,
    error::ApiError,
    store::StoreError,
};
use sha2::{Digest, Sha256};

use super::{
    model::{ImageVariants, ProductImage, StoredImage},
    service::{change_live, MAX_IMAGES},
    Catalog,
};

/// Most pixels an upload may have (40 megapixels); more is a 413.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The variants' longest sides, smallest first: thumbnail, medium, large.
pub const VARIANT_SIZES: [u32; 3] = [160, 640, 1280];

/// A decoded upload and its WebP variants, ready to store.
#[derive(Debug)]
pub struct Processed {
    /// The first 20 hex digits of the original's SHA-256.
    pub digest: String,
    /// The original's width.
    pub width: u32,
    /// The original's height.
    pub height: u32,
    /// `(longest side, WebP bytes)` per [`VARIANT_SIZES`].
    pub variants: Vec<(u32, Bytes)>,
}

fn unsupported(why: impl std::fmt::Display) -> ApiError {
    ApiError::UnsupportedMediaType(format!(
        "the body is not a JPEG, PNG or WebP image we can read: {why}"
    ))
}

/// Decodes `bytes` and makes its variants (CPU work: call it off the runtime).
///
/// # Errors
/// 415 when it is not a readable JPEG, PNG or WebP image; 413 above [`MAX_PIXELS`].
pub fn process(bytes: &[u8]) -> Result<Processed, ApiError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(unsupported)?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        _ => return Err(unsupported("unknown format")),
    }
    let (width, height) = reader.into_dimensions().map_err(unsupported)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_PIXELS as usize,
        });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(unsupported)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let image = reader.decode().map_err(unsupported)?;
    let digest = hex::encode(&Sha256::digest(bytes)[..10]);
    let mut variants = Vec::with_capacity(VARIANT_SIZES.len());
    for size in VARIANT_SIZES {
        let resized = if width.max(height) > size {
            image.resize(size, size, FilterType::Triangle)
        } else {
            image.clone()
        };
        variants.push((size, encode_webp(resized)?));
    }
    Ok(Processed {
        digest,
        width,
        height,
        variants,
    })
}

fn encode_webp(image: DynamicImage) -> Result<Bytes, ApiError> {
    let image = if image.color().has_alpha() {
        DynamicImage::ImageRgba8(image.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.to_rgb8())
    };
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::WebP)
        .map_err(ApiError::internal)?;
    Ok(Bytes::from(out.into_inner()))
}

fn blob_error(e: jojomart_shared::blob::BlobError) -> ApiError {
    ApiError::Unavailable(Box::new(e))
}

/// Stores `processed` as an image of product `id` and records it; an image
/// already there (the same bytes) is answered again.
///
/// # Errors
/// 404 unknown or deleted product; 409 when it has [`MAX_IMAGES`] already;
/// 503 when blob storage fails; the store's error.
pub async fn add(
    catalog: &Catalog,
    id: &ProductId,
    processed: Processed,
) -> Result<ProductImage, ApiError> {
    let (product, _) = super::service::read_live(catalog, id).await?;
    let image_id = format!("img_{}", processed.digest);
    if let Some(existing) = product.image_set.iter().find(|i| i.image.id == image_id) {
        return Ok(existing.image.clone());
    }
    if product.images.len() + product.image_set.len() >= MAX_IMAGES {
        return Err(ApiError::Conflict(format!(
            "a product has at most {MAX_IMAGES} images"
        )));
    }
    let blobs = &catalog.blobs;
    let props = BlobProperties::immutable("image/webp");
    let mut keys = Vec::new();
    let mut urls = Vec::new();
    for (size, bytes) in processed.variants {
        let key = BlobKey::parse(&format!(
            "products/{}/{}-{size}.webp",
            id.as_str(),
            processed.digest
        ))
        .map_err(ApiError::internal)?;
        blobs.put(&key, bytes, &props).await.map_err(blob_error)?;
        urls.push(blobs.public_url(&key));
        keys.push(key.as_str().to_owned());
    }
    let [thumbnail, medium, large]: [String; 3] = urls
        .try_into()
        .map_err(|_| ApiError::internal(StoreError::Internal("three variants expected".into())))?;
    let image = ProductImage {
        id: image_id.clone(),
        url: large.clone(),
        width: processed.width,
        height: processed.height,
        variants: ImageVariants {
            thumbnail,
            medium,
            large,
        },
    };
    let stored = StoredImage {
        image: image.clone(),
        keys,
    };
    change_live(catalog, id, |product| {
        if product.image_set.iter().any(|i| i.image.id == image_id) {
            return Ok(false);
        }
        if product.images.len() + product.image_set.len() >= MAX_IMAGES {
            return Err(ApiError::Conflict(format!(
                "a product has at most {MAX_IMAGES} images"
            )));
        }
        product.image_set.push(stored.clone());
        Ok(true)
    })
    .await?;
    Ok(image)
}

/// Removes image `image_id` from product `id` and deletes its blobs (best effort).
///
/// # Errors
/// 404 unknown product or image; the store's error.
pub async fn remove(catalog: &Catalog, id: &ProductId, image_id: &str) -> Result<(), ApiError> {
    let mut removed = None;
    change_live(catalog, id, |product| {
        let at = product
            .image_set
            .iter()
            .position(|i| i.image.id == image_id)
            .ok_or_else(|| ApiError::NotFound("no such image".into()))?;
        removed = Some(product.image_set.remove(at));
        Ok(true)
    })
    .await?;
    if let Some(image) = removed {
        delete_blobs(&catalog.blobs, &image.keys).await;
    }
    Ok(())
}

/// Deletes blobs by key, logging (not failing on) what could not be deleted:
/// an undeleted blob is unreferenced, not visible in the shop.
pub async fn delete_blobs(blobs: &SharedBlobs, keys: &[String]) {
    for key in keys {
        let deleted = match BlobKey::parse(key) {
            Ok(k) => blobs.delete(&k).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            tracing::warn!(error = %e, %key, "image blob not deleted; it is unreferenced");
        }
    }
}
