//! Catalog seeding: the demo shop `jojomart dev` shows on an empty store, and
//! `jojomart seed --products N`, which generates N plausible products for
//! benchmarks. Both go through the products service, so seeded products are
//! stored exactly like products created over HTTP.

use std::collections::HashMap;

use futures::{stream, StreamExt, TryStreamExt};
use jojomart_shared::{
    domain::{CategorySlug, Currency, Description, Invalid, Money, ProductName, Sku, Stock},
    error::ApiError,
    store::containers::SYSTEM,
    store::{Query, StoreError},
};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::Catalog;
use super::{
    model::PRODUCTS,
    service::{self, NewProduct},
};

/// The demo categories: slug and display name.
const CATEGORIES: &[(&str, &str)] = &[
    ("electronics", "Electronics"),
    ("home-kitchen", "Home & Kitchen"),
    ("books", "Books"),
    ("clothing", "Clothing"),
    ("sports-outdoors", "Sports & Outdoors"),
    ("toys-games", "Toys & Games"),
    ("beauty", "Beauty & Personal Care"),
    ("garden", "Garden"),
];

/// The demo products: category, SKU, name, description, price in cents (USD), stock.
const DEMO: &[(&str, &str, &str, &str, i64, i64)] = &[
    ("electronics", "EL-HEADPHONES-01", "Aurora Wireless Headphones", "Over-ear Bluetooth headphones with active noise cancelling and 30 hours of battery life.", 12999, 40),
    ("electronics", "EL-SPEAKER-02", "Pebble Portable Speaker", "Waterproof pocket speaker with deep bass and a 12-hour battery. Pairs with any phone.", 4999, 75),
    ("electronics", "EL-KEYBOARD-03", "Typewise Mechanical Keyboard", "Compact 75% mechanical keyboard with hot-swappable brown switches and white backlight.", 8900, 25),
    ("electronics", "EL-MOUSE-04", "Glide Ergonomic Mouse", "Vertical wireless mouse that keeps your wrist in a natural handshake position.", 3999, 60),
    ("electronics", "EL-CHARGER-05", "Volt 65W USB-C Charger", "Gallium nitride charger with two USB-C ports and one USB-A port; charges a laptop and a phone at once.", 3499, 120),
    ("electronics", "EL-WEBCAM-06", "Clarity 1080p Webcam", "Full HD webcam with autofocus, dual microphones and a privacy shutter.", 5999, 0),
    ("electronics", "EL-SMARTWATCH-07", "Pulse Fitness Smartwatch", "Tracks heart rate, sleep and workouts; water resistant to 50 metres; seven-day battery.", 14999, 18),
    ("electronics", "EL-EREADER-08", "Folio E-Reader", "Glare-free 7-inch e-ink reader with warm light and weeks of battery life.", 11999, 33),
    ("home-kitchen", "HK-KETTLE-01", "Copper Gooseneck Kettle", "Electric pour-over kettle with precise temperature control and a copper finish.", 6900, 30),
    ("home-kitchen", "HK-KNIFE-02", "Santoku Chef Knife", "Seven-inch Japanese steel santoku with a walnut handle, hand sharpened.", 7450, 22),
    ("home-kitchen", "HK-PAN-03", "Cast Iron Skillet 26cm", "Pre-seasoned cast iron skillet for searing, baking and campfire cooking.", 3999, 45),
    ("home-kitchen", "HK-FRENCHPRESS-04", "Glass French Press", "One-litre borosilicate French press with a stainless steel filter.", 2499, 80),
    ("home-kitchen", "HK-TOWELS-05", "Linen Tea Towels (Set of 3)", "Stonewashed linen tea towels that dry glasses without lint.", 1899, 100),
    ("home-kitchen", "HK-BLENDER-06", "Vortex High-Speed Blender", "1200-watt blender that crushes ice and makes smoothies in seconds.", 9900, 12),
    ("home-kitchen", "HK-CANDLE-07", "Cedar & Smoke Candle", "Hand-poured soy candle with notes of cedarwood, smoke and vanilla; 50-hour burn.", 2200, 64),
    ("home-kitchen", "HK-MUGS-08", "Stoneware Mugs (Set of 4)", "Speckled stoneware mugs, dishwasher and microwave safe, 350 ml each.", 3400, 38),
    ("books", "BK-RUST-01", "Programming in Rust, 2nd Edition", "A practical guide to ownership, traits, async and building fast, reliable software.", 4499, 50),
    ("books", "BK-COOK-02", "Salt, Fat, Acid, Heat", "The four elements of good cooking, explained with illustrations and recipes.", 2999, 27),
    ("books", "BK-NOVEL-03", "The Lighthouse Keeper", "A quiet novel about a keeper, a storm and the letters that wash ashore.", 1699, 44),
    ("books", "BK-HISTORY-04", "Empires of the Silk Road", "A history of the trade routes that connected Asia, Africa and Europe.", 2450, 19),
    ("books", "BK-KIDS-05", "Goodnight, Little Fox", "A rhyming bedtime picture book for children aged two to five.", 1299, 70),
    ("books", "BK-SCIFI-06", "Orbit of Glass", "A science fiction thriller about the first city built on the Moon.", 1899, 36),
    ("books", "BK-GARDEN-07", "The Small Garden Handbook", "Planning, planting and harvesting in balconies, patios and tiny yards.", 2199, 15),
    ("books", "BK-DESIGN-08", "Designing Data-Intensive Applications", "The big ideas behind reliable, scalable and maintainable systems.", 4999, 22),
    ("clothing", "CL-TEE-01", "Organic Cotton T-Shirt", "Heavyweight organic cotton crew neck tee in a relaxed fit.", 2500, 150),
    ("clothing", "CL-HOODIE-02", "Merino Zip Hoodie", "Lightweight merino wool hoodie that stays warm and never smells.", 8900, 35),
    ("clothing", "CL-JEANS-03", "Selvedge Denim Jeans", "Raw selvedge denim jeans, slim taper, made in Japan.", 12900, 28),
    ("clothing", "CL-JACKET-04", "Rain Shell Jacket", "Packable waterproof shell with taped seams and an adjustable hood.", 10900, 20),
    ("clothing", "CL-SOCKS-05", "Wool Hiking Socks (3 Pairs)", "Cushioned merino blend socks for long days on the trail.", 2400, 90),
    ("clothing", "CL-CAP-06", "Canvas Baseball Cap", "Washed canvas cap with an adjustable brass buckle.", 1900, 55),
    ("clothing", "CL-SCARF-07", "Cashmere Scarf", "Soft brushed cashmere scarf in charcoal grey.", 7900, 0),
    ("clothing", "CL-SNEAKERS-08", "Everyday Leather Sneakers", "Minimal white leather sneakers with a cushioned rubber sole.", 11500, 24),
    ("sports-outdoors", "SP-YOGAMAT-01", "Cork Yoga Mat", "Non-slip natural cork yoga mat with a rubber base, 4 mm thick.", 6500, 40),
    ("sports-outdoors", "SP-BOTTLE-02", "Insulated Water Bottle 750ml", "Double-wall steel bottle keeps drinks cold for 24 hours or hot for 12.", 2900, 110),
    ("sports-outdoors", "SP-TENT-03", "Trailhead 2-Person Tent", "Freestanding backpacking tent that weighs 1.6 kg and pitches in minutes.", 24900, 9),
    ("sports-outdoors", "SP-BACKPACK-04", "Summit 30L Daypack", "Ventilated hiking daypack with a rain cover and hydration sleeve.", 7900, 31),
    ("sports-outdoors", "SP-DUMBBELLS-05", "Adjustable Dumbbells", "Pair of quick-change dumbbells from 2 to 24 kg each.", 29900, 7),
    ("sports-outdoors", "SP-HEADLAMP-06", "Beam Rechargeable Headlamp", "400-lumen USB-C rechargeable headlamp with a red night mode.", 3500, 58),
    ("sports-outdoors", "SP-ROPE-07", "Speed Jump Rope", "Ball-bearing jump rope with an adjustable steel cable.", 1500, 85),
    ("sports-outdoors", "SP-BIKELIGHT-08", "Bike Light Set", "Bright front and rear bicycle lights, USB rechargeable and water resistant.", 2800, 47),
    ("toys-games", "TG-BLOCKS-01", "Wooden Building Blocks (100 pcs)", "Natural beech blocks in ten shapes for toddlers and builders of all ages.", 3900, 42),
    ("toys-games", "TG-PUZZLE-02", "1000-Piece Map Puzzle", "A vintage world map jigsaw puzzle with a poster guide.", 2200, 53),
    ("toys-games", "TG-BOARDGAME-03", "Harbour Traders Board Game", "A strategy game of trading, shipping and building for 2-4 players.", 4500, 26),
    ("toys-games", "TG-CARDS-04", "Quick Draw Card Game", "A fast party card game for 3-8 players; rounds take five minutes.", 1400, 95),
    ("toys-games", "TG-ROBOT-05", "Code-a-Bot Robot Kit", "Build and program a small robot with blocks or Python; ages 8 and up.", 7900, 14),
    ("toys-games", "TG-PLUSH-06", "Sleepy Bear Plush", "Extra soft teddy bear, machine washable, 30 cm tall.", 2400, 61),
    ("toys-games", "TG-KITE-07", "Delta Kite", "Easy-flying ripstop nylon kite with 50 m of line.", 1900, 0),
    ("toys-games", "TG-CHESS-08", "Walnut Chess Set", "Folding walnut chess board with weighted wooden pieces.", 5900, 17),
    ("beauty", "BT-SERUM-01", "Vitamin C Brightening Serum", "A lightweight serum with 15% vitamin C for an even, glowing complexion.", 2800, 72),
    ("beauty", "BT-CREAM-02", "Daily Moisturiser SPF 30", "Fragrance-free moisturiser with broad-spectrum sun protection.", 2200, 66),
    ("beauty", "BT-SHAMPOO-03", "Rosemary Shampoo Bar", "A plastic-free solid shampoo with rosemary and mint; lasts 80 washes.", 1200, 88),
    ("beauty", "BT-RAZOR-04", "Safety Razor", "Chrome-plated double-edge safety razor with ten blades.", 3200, 29),
    ("beauty", "BT-LIPBALM-05", "Beeswax Lip Balm (3 Pack)", "Nourishing lip balm with beeswax, shea butter and vanilla.", 800, 140),
    ("beauty", "BT-BRUSH-06", "Bamboo Hair Brush", "Paddle brush with bamboo pins that detangles gently.", 1600, 47),
    ("beauty", "BT-OIL-07", "Lavender Body Oil", "A calming body oil with lavender and sweet almond.", 2400, 38),
    ("beauty", "BT-MASK-08", "Clay Face Mask", "Purifying kaolin clay mask for oily and combination skin.", 1800, 51),
    ("garden", "GD-TROWEL-01", "Stainless Steel Trowel", "A sturdy hand trowel with an ash wood handle and depth markings.", 1900, 64),
    ("garden", "GD-GLOVES-02", "Leather Gardening Gloves", "Thorn-proof goatskin gloves with breathable cuffs.", 2400, 43),
    ("garden", "GD-HOSE-03", "Expandable Garden Hose 15m", "Lightweight hose that expands to 15 m with an eight-pattern nozzle.", 3400, 25),
    ("garden", "GD-SEEDS-04", "Heirloom Tomato Seeds", "A collection of six heirloom tomato varieties, 20 seeds each.", 900, 130),
    ("garden", "GD-PLANTER-05", "Terracotta Planter Set", "Three unglazed terracotta pots with saucers, 12 to 20 cm.", 2900, 36),
    ("garden", "GD-SHEARS-06", "Bypass Pruning Shears", "Precision steel pruners for stems up to 20 mm thick.", 2600, 41),
    ("garden", "GD-BIRDFEEDER-07", "Cedar Bird Feeder", "A hanging cedar feeder that holds two litres of seed.", 3100, 19),
    ("garden", "GD-LIGHTS-08", "Solar Path Lights (8 Pack)", "Warm white solar lights that switch on at dusk.", 3900, 27),
];

/// Words the generated catalog is made of, per category: adjectives and nouns.
const GENERATED: &[(&str, &[&str], &[&str])] = &[
    (
        "electronics",
        &["wireless", "smart", "portable", "compact", "digital"],
        &[
            "speaker", "charger", "camera", "headset", "monitor", "router",
        ],
    ),
    (
        "home-kitchen",
        &["ceramic", "copper", "glass", "bamboo", "enamel"],
        &["bowl", "kettle", "skillet", "teapot", "grinder", "tray"],
    ),
    (
        "books",
        &["illustrated", "classic", "practical", "annotated", "pocket"],
        &[
            "novel",
            "cookbook",
            "atlas",
            "handbook",
            "biography",
            "anthology",
        ],
    ),
    (
        "clothing",
        &["merino", "linen", "organic", "waxed", "knitted"],
        &["sweater", "jacket", "shirt", "trousers", "beanie", "scarf"],
    ),
    (
        "sports-outdoors",
        &["ultralight", "insulated", "waterproof", "folding", "rugged"],
        &["tent", "backpack", "bottle", "lantern", "hammock", "stove"],
    ),
    (
        "toys-games",
        &["wooden", "magnetic", "giant", "classic", "cooperative"],
        &[
            "puzzle",
            "blocks",
            "kite",
            "robot",
            "boardgame",
            "marble-run",
        ],
    ),
    (
        "beauty",
        &["hydrating", "gentle", "herbal", "vegan", "soothing"],
        &["serum", "balm", "cleanser", "shampoo", "toner", "cream"],
    ),
    (
        "garden",
        &["stainless", "solar", "terracotta", "cedar", "heavy-duty"],
        &[
            "trowel",
            "planter",
            "sprinkler",
            "feeder",
            "shears",
            "lantern",
        ],
    ),
];

const COLOURS: &[&str] = &[
    "red", "blue", "green", "black", "white", "grey", "yellow", "teal", "orange", "navy",
];

fn invalid(e: Invalid) -> ApiError {
    ApiError::internal(StoreError::Invalid(e.0))
}

/// A demo picture drawn here (no outside photo site, so the demo works
/// offline): a diagonal gradient between two colours picked from the SKU,
/// with a disc in the middle, as a PNG.
fn demo_picture(sku: &Sku) -> Result<Vec<u8>, ApiError> {
    use sha2::Digest;
    let seed = sha2::Sha256::digest(sku.as_str().as_bytes());
    let (a, b) = ([seed[0], seed[1], seed[2]], [seed[3], seed[4], seed[5]]);
    let size = 480u32;
    let picture = image::RgbImage::from_fn(size, size, |x, y| {
        let (dx, dy) = (x as i64 - 240, y as i64 - 240);
        if dx * dx + dy * dy < 110 * 110 {
            return image::Rgb([255 - a[0], 255 - a[1], 255 - a[2]]);
        }
        let t = (x + y) as f32 / (2 * size) as f32;
        let mix = |i: usize| (f32::from(a[i]) * (1.0 - t) + f32::from(b[i]) * t) as u8;
        image::Rgb([mix(0), mix(1), mix(2)])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(ApiError::internal)?;
    Ok(png.into_inner())
}

/// Uploads the demo picture of `sku` to product `id` through the upload path.
async fn add_demo_picture(catalog: &Catalog, id: &str, sku: &Sku) -> Result<(), ApiError> {
    let png = demo_picture(sku)?;
    let processed = tokio::task::spawn_blocking(move || super::images::process(&png))
        .await
        .map_err(ApiError::internal)??;
    let id = jojomart_shared::domain::ProductId::parse(id).map_err(invalid)?;
    super::images::add(catalog, &id, processed).await?;
    Ok(())
}

fn usd() -> Result<Currency, ApiError> {
    Currency::parse("USD").map_err(invalid)
}

async fn ensure_categories(catalog: &Catalog) -> Result<(), ApiError> {
    for (slug, name) in CATEGORIES {
        service::ensure_category(catalog, &CategorySlug::parse(slug).map_err(invalid)?, name)
            .await?;
    }
    Ok(())
}

/// Seeds the demo catalog when the store has no product yet; returns how many
/// products it added (0 when it was not empty or another process seeded it).
///
/// # Errors
/// The store's error.
pub async fn demo_catalog_if_empty(catalog: &Catalog) -> Result<usize, ApiError> {
    let any = catalog.store.query(&Query::new(PRODUCTS).limit(1)).await?;
    if !any.items.is_empty() {
        return Ok(0);
    }
    let marker = serde_json::json!({ "seededAt": catalog.clock.now() });
    match catalog
        .store
        .create(SYSTEM, "catalog", "demo-seeded", marker)
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict) => return Ok(0),
        Err(e) => return Err(e.into()),
    }
    ensure_categories(catalog).await?;
    let currency = usd()?;
    for (category, sku, name, description, price, stock) in DEMO {
        let sku = Sku::parse(sku).map_err(invalid)?;
        let new = NewProduct {
            images: Vec::new(),
            sku: sku.clone(),
            name: ProductName::parse(name).map_err(invalid)?,
            description: Description::parse(description).map_err(invalid)?,
            category: CategorySlug::parse(category).map_err(invalid)?,
            price: Money::non_negative(*price, currency).map_err(invalid)?,
            stock: Stock::new(*stock).map_err(invalid)?,
        };
        let created = service::create(catalog, new).await?;
        add_demo_picture(catalog, &created.summary.id, &sku).await?;
    }
    Ok(DEMO.len())
}

/// The `i`-th generated product of a run.
fn generated(rng: &mut StdRng, run: &str, i: usize) -> Result<NewProduct, ApiError> {
    let (category, adjectives, nouns) = GENERATED[rng.gen_range(0..GENERATED.len())];
    let adjective = adjectives[rng.gen_range(0..adjectives.len())];
    let noun = nouns[rng.gen_range(0..nouns.len())];
    let colour = COLOURS[rng.gen_range(0..COLOURS.len())];
    let other = GENERATED[rng.gen_range(0..GENERATED.len())].2;
    let pairs_with = other[rng.gen_range(0..other.len())];
    let sku = Sku::parse(&format!("GEN-{run}-{i:06}")).map_err(invalid)?;
    let name = format!(
        "{} {} {} No. {}",
        capitalise(adjective),
        colour,
        noun,
        i + 1
    );
    let description = format!(
        "A {adjective} {noun} in {colour}, built to last and easy to care for. Pairs well with our {pairs_with}. Model {i}."
    );
    Ok(NewProduct {
        // Benchmark products carry no images (the demo catalog draws its own).
        images: Vec::new(),
        sku,
        name: ProductName::parse(&name).map_err(invalid)?,
        description: Description::parse(&description).map_err(invalid)?,
        category: CategorySlug::parse(category).map_err(invalid)?,
        price: Money::non_negative(rng.gen_range(199..=49_999), usd()?).map_err(invalid)?,
        stock: Stock::new(rng.gen_range(0..=500)).map_err(invalid)?,
    })
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// Generates and stores `count` products (for benchmarks); returns how many it created.
///
/// Products are created through [`service::create_uncounted`] a few at a time,
/// and each category's count is then adjusted once.
///
/// # Errors
/// The store's error.
pub async fn generate(catalog: &Catalog, count: usize) -> Result<usize, ApiError> {
    ensure_categories(catalog).await?;
    let run = format!("{:06X}", rand::random::<u32>() & 0xFF_FFFF);
    let mut rng = StdRng::seed_from_u64(6);
    let products = (0..count)
        .map(|i| generated(&mut rng, &run, i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut per_category: HashMap<CategorySlug, i64> = HashMap::new();
    for p in &products {
        *per_category.entry(p.category.clone()).or_default() += 1;
    }
    let created = stream::iter(products)
        .map(|p| service::create_uncounted(catalog, p))
        .buffer_unordered(8)
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await?;
    for (category, n) in per_category {
        service::adjust_category(catalog, &category, n).await?;
    }
    Ok(created)
}
