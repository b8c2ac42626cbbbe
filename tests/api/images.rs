//! Product images (CONTRACT v1.1 `images`): an admin uploads a real JPEG or
//! PNG, gets three WebP variants served at `/media/...` under `dev` (on the
//! Azure backend: read anonymously from the Azurite container) with
//! immutable cache headers, and the product lists them; anything that is not
//! really an image is a 415, a header claiming over 40 megapixels a 413;
//! deleting the image (or the product) removes its variants.

use image::{GenericImageView, ImageFormat};
use serde_json::Value;

use crate::harness::{
    backend,
    catalog::product,
    images::{encode, gradient, png_claiming},
    Backend, TestApp,
};

async fn app_with_product() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let created = app
        .catalog()
        .create_product(&admin, &product("IMG-1", "Lamp", "A lamp", "home", 1999, 3))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    (app, admin, id)
}

async fn problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert!(r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json")));
    r.json().await.expect("problem JSON")
}

#[tokio::test]
async fn a_png_upload_is_served_as_three_webp_variants_and_listed() {
    let (app, admin, id) = app_with_product().await;
    let png = encode(&gradient(2000, 1000), ImageFormat::Png);
    let r = app
        .images()
        .upload(Some(&admin), &id, png, "image/png")
        .await;
    assert_eq!(r.status(), 201);
    let image: Value = r.json().await.expect("JSON");
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(2000), Some(1000))
    );
    assert_eq!(image["url"], image["variants"]["large"]);
    let base = app.images().public_base();
    assert_eq!(
        base.starts_with("http://127.0.0.1:"),
        backend() == Backend::Azure,
        "on the Azure backend images are read from Azurite's container, else from /media: {base}"
    );
    for (variant, (w, h)) in [
        ("thumbnail", (160, 80)),
        ("medium", (640, 320)),
        ("large", (1280, 640)),
    ] {
        let url = image["variants"][variant].as_str().expect("a URL");
        assert!(
            url.starts_with(&format!("{base}products/")),
            "served from {base}: {url}"
        );
        let r = app.images().fetch(url).await;
        assert_eq!(r.status(), 200, "{variant}");
        let header = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("content-type").as_deref(), Some("image/webp"));
        assert_eq!(
            header("cache-control").as_deref(),
            Some("public, max-age=31536000, immutable")
        );
        let etag = header("etag").expect("an ETag");
        let bytes = r.bytes().await.expect("bytes");
        let decoded =
            image::load_from_memory_with_format(&bytes, ImageFormat::WebP).expect("a WebP image");
        assert_eq!(decoded.dimensions(), (w, h), "{variant}");
        let again = app.images().fetch_if_none_match(url, &etag).await;
        assert_eq!(again.status(), 304, "the ETag revalidates");
    }
    let (status, shown) = app.catalog().product(&id).await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = shown["images"]
        .as_array()
        .expect("images")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        listed.len(),
        2,
        "the link from creation and the upload: {shown}"
    );
    assert_eq!(listed[1], image["url"].as_str().expect("url"));
    assert_eq!(shown["imageSet"][0]["id"], image["id"]);
}

#[tokio::test]
async fn a_small_jpeg_is_never_upscaled() {
    let (app, admin, id) = app_with_product().await;
    let jpeg = encode(&gradient(300, 200), ImageFormat::Jpeg);
    let r = app
        .images()
        .upload(Some(&admin), &id, jpeg, "image/jpeg")
        .await;
    assert_eq!(r.status(), 201);
    let image: Value = r.json().await.expect("JSON");
    for (variant, size) in [
        ("thumbnail", (160, 107)),
        ("medium", (300, 200)),
        ("large", (300, 200)),
    ] {
        let r = app
            .images()
            .fetch(image["variants"][variant].as_str().expect("url"))
            .await;
        let bytes = r.bytes().await.expect("bytes");
        let decoded = image::load_from_memory(&bytes).expect("an image");
        assert_eq!(decoded.dimensions(), size, "{variant}");
    }
}

#[tokio::test]
async fn what_is_not_really_an_image_is_a_415() {
    let (app, admin, id) = app_with_product().await;
    let text = b"hello, I am not a PNG".to_vec();
    let r = app
        .images()
        .upload(Some(&admin), &id, text, "image/png")
        .await;
    problem(r, 415).await;
    let mut truncated = encode(&gradient(256, 256), ImageFormat::Png);
    truncated.truncate(truncated.len() / 2);
    let r = app
        .images()
        .upload(Some(&admin), &id, truncated, "image/png")
        .await;
    problem(r, 415).await;
    let gif = encode(&gradient(8, 8), ImageFormat::Gif);
    let r = app
        .images()
        .upload(Some(&admin), &id, gif, "image/gif")
        .await;
    problem(r, 415).await;
    let (_, shown) = app.catalog().product(&id).await;
    assert_eq!(
        shown["imageSet"].as_array().map(Vec::len),
        Some(0),
        "nothing added"
    );
}

#[tokio::test]
async fn over_40_megapixels_or_5_mib_is_a_413() {
    let (app, admin, id) = app_with_product().await;
    let bomb = png_claiming(8000, 5001);
    let r = app
        .images()
        .upload(Some(&admin), &id, bomb, "image/png")
        .await;
    problem(r, 413).await;
    let big = vec![0u8; 5 * 1024 * 1024 + 1];
    let r = app
        .images()
        .upload(Some(&admin), &id, big, "image/png")
        .await;
    problem(r, 413).await;
}

#[tokio::test]
async fn only_admins_upload_and_delete() {
    let (app, admin, id) = app_with_product().await;
    let png = encode(&gradient(64, 64), ImageFormat::Png);
    let r = app
        .images()
        .upload(None, &id, png.clone(), "image/png")
        .await;
    problem(r, 401).await;
    let shopper = app.auth().token("shopper@example.com", "Shopper").await;
    let r = app
        .images()
        .upload(Some(&shopper), &id, png.clone(), "image/png")
        .await;
    problem(r, 403).await;
    let r = app
        .images()
        .upload(Some(&admin), &id, png, "image/png")
        .await;
    let image: Value = r.json().await.expect("JSON");
    let image_id = image["id"].as_str().expect("id");
    problem(
        app.images().delete(Some(&shopper), &id, image_id).await,
        403,
    )
    .await;
    problem(app.images().delete(None, &id, image_id).await, 401).await;
    let r = app
        .images()
        .fetch(image["url"].as_str().expect("url"))
        .await;
    assert_eq!(r.status(), 200, "still there");
}

#[tokio::test]
async fn deleting_an_image_or_its_product_removes_the_variants() {
    let (app, admin, id) = app_with_product().await;
    let upload = |seed: u32| {
        let img = gradient(100 + seed, 80);
        encode(&img, ImageFormat::Png)
    };
    let first: Value = app
        .images()
        .upload(Some(&admin), &id, upload(1), "image/png")
        .await
        .json()
        .await
        .expect("JSON");
    let second: Value = app
        .images()
        .upload(Some(&admin), &id, upload(2), "image/png")
        .await
        .json()
        .await
        .expect("JSON");
    let r = app
        .images()
        .delete(Some(&admin), &id, first["id"].as_str().expect("id"))
        .await;
    assert_eq!(r.status(), 204);
    for variant in ["thumbnail", "medium", "large"] {
        let url = first["variants"][variant].as_str().expect("url");
        assert_eq!(app.images().fetch(url).await.status(), 404, "{variant}");
    }
    let (_, shown) = app.catalog().product(&id).await;
    assert!(
        !shown["images"]
            .to_string()
            .contains(first["url"].as_str().expect("url")),
        "no longer listed: {shown}"
    );
    let again = app
        .images()
        .delete(Some(&admin), &id, first["id"].as_str().expect("id"))
        .await;
    problem(again, 404).await;
    let second_url = second["url"].as_str().expect("url");
    assert_eq!(app.images().fetch(second_url).await.status(), 200);
    assert_eq!(
        app.catalog()
            .delete_product(Some(&admin), &id)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.images().fetch(second_url).await.status(),
        404,
        "deleted with its product"
    );
}
