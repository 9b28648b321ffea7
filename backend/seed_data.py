"""The demo shop's catalog: a Nairobi shoe-and-clothing duka, priced in KES (stable order)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.domain.money import Money
from backend.services.catalog import NewProduct, NewVariant


@dataclass(frozen=True)
class V:
    """One variant: SKU, price in whole KES (a string, never a float), stock, attributes."""

    sku: str
    kes: str
    stock: int
    size: str | None = None
    colour: str | None = None


@dataclass(frozen=True)
class P:
    title: str
    category: str
    description: str
    variants: tuple[V, ...]


def _p(title: str, category: str, description: str, *variants: V) -> P:
    return P(title, category, description, variants)


CATALOG: tuple[P, ...] = (
    _p(
        "Classic White Canvas Sneakers",
        "shoes",
        "Low-top canvas sneakers with rubber sole; easy to clean.",
        V("SNK-CNV-WHT-39", "1800", 6, size="39", colour="white"),
        V("SNK-CNV-WHT-40", "1800", 9, size="40", colour="white"),
        V("SNK-CNV-WHT-41", "1800", 0, size="41", colour="white"),
        V("SNK-CNV-WHT-42", "1800", 4, size="42", colour="white"),
    ),
    _p(
        "Air Runner Mesh Sports Shoes",
        "shoes",
        "Breathable mesh running shoes with cushioned sole.",
        V("SNK-RUN-BLK-41", "3500", 3, size="41", colour="black"),
        V("SNK-RUN-BLK-42", "3500", 5, size="42", colour="black"),
        V("SNK-RUN-GRY-43", "3500", 0, size="43", colour="grey"),
        V("SNK-RUN-GRY-44", "3700", 2, size="44", colour="grey"),
    ),
    _p(
        "Leather Chelsea Boots",
        "shoes",
        "Genuine leather Chelsea boots with elastic sides, made in Kariokor.",
        V("BT-CHL-BRN-41", "4800", 2, size="41", colour="brown"),
        V("BT-CHL-BRN-42", "4800", 3, size="42", colour="brown"),
        V("BT-CHL-BLK-43", "4800", 1, size="43", colour="black"),
    ),
    _p(
        "Rugged Work Boots",
        "shoes",
        "Steel-toe lace-up work boots for site and jua kali work.",
        V("BT-WRK-TAN-42", "5500", 4, size="42", colour="tan"),
        V("BT-WRK-TAN-43", "5500", 0, size="43", colour="tan"),
        V("BT-WRK-TAN-44", "5500", 2, size="44", colour="tan"),
    ),
    _p(
        "Maasai Beaded Leather Sandals",
        "shoes",
        "Hand-beaded leather sandals made by Maasai artisans.",
        V("SDL-MSB-37", "1200", 5, size="37"),
        V("SDL-MSB-38", "1200", 7, size="38"),
        V("SDL-MSB-39", "1200", 3, size="39"),
        V("SDL-MSB-40", "1200", 0, size="40"),
    ),
    _p(
        "Boys' Black School Shoes",
        "shoes",
        "Durable black leather school shoes with lace-up front.",
        V("SCH-BOY-32", "1650", 8, size="32", colour="black"),
        V("SCH-BOY-34", "1650", 10, size="34", colour="black"),
        V("SCH-BOY-36", "1750", 6, size="36", colour="black"),
        V("SCH-BOY-38", "1750", 0, size="38", colour="black"),
    ),
    _p(
        "Girls' School Shoes with Buckle",
        "shoes",
        "Black school shoes with a side buckle and padded insole.",
        V("SCH-GRL-30", "1550", 5, size="30", colour="black"),
        V("SCH-GRL-32", "1550", 7, size="32", colour="black"),
        V("SCH-GRL-34", "1550", 4, size="34", colour="black"),
    ),
    _p(
        "Ladies' Block Heels",
        "shoes",
        "Open-toe block heels, comfortable for the office and weddings.",
        V("HEL-BLK-NUD-37", "2900", 2, size="37", colour="nude"),
        V("HEL-BLK-NUD-38", "2900", 3, size="38", colour="nude"),
        V("HEL-BLK-RED-39", "2900", 1, size="39", colour="red"),
    ),
    _p(
        "Men's Oxford Formal Shoes",
        "shoes",
        "Polished leather Oxford shoes for work and church.",
        V("OXF-BLK-41", "4200", 3, size="41", colour="black"),
        V("OXF-BLK-42", "4200", 4, size="42", colour="black"),
        V("OXF-BLK-43", "4200", 2, size="43", colour="black"),
        V("OXF-BRN-42", "4200", 0, size="42", colour="brown"),
    ),
    _p(
        "Suede Slip-on Loafers",
        "shoes",
        "Soft suede loafers with a flexible sole.",
        V("LOF-SUE-NVY-40", "3200", 2, size="40", colour="navy"),
        V("LOF-SUE-NVY-41", "3200", 3, size="41", colour="navy"),
        V("LOF-SUE-TAN-42", "3200", 2, size="42", colour="tan"),
    ),
    _p(
        "Rubber Gumboots",
        "shoes",
        "Waterproof gumboots for the long rains and the shamba.",
        V("GUM-BLK-40", "1400", 6, size="40", colour="black"),
        V("GUM-BLK-42", "1400", 8, size="42", colour="black"),
        V("GUM-BLK-44", "1400", 0, size="44", colour="black"),
    ),
    _p(
        "Kids' Light-up Sneakers",
        "shoes",
        "Velcro sneakers with LED soles that light up with every step.",
        V("SNK-KID-LED-26", "1900", 4, size="26", colour="pink"),
        V("SNK-KID-LED-28", "1900", 5, size="28", colour="blue"),
        V("SNK-KID-LED-30", "1900", 0, size="30", colour="blue"),
    ),
    _p(
        "Akala Tyre Sandals",
        "shoes",
        "Classic sandals cut from recycled tyres; they last for years.",
        V("SDL-AKL-M", "600", 12, size="M"),
        V("SDL-AKL-L", "600", 9, size="L"),
    ),
    _p(
        "Ladies' Ballet Flats",
        "shoes",
        "Lightweight ballet flats with a cushioned footbed.",
        V("FLT-BLT-BLK-37", "1500", 4, size="37", colour="black"),
        V("FLT-BLT-BLK-38", "1500", 6, size="38", colour="black"),
        V("FLT-BLT-BEI-39", "1500", 3, size="39", colour="beige"),
        V("FLT-BLT-BEI-40", "1500", 0, size="40", colour="beige"),
    ),
    _p(
        "Sports Slides",
        "shoes",
        "Soft rubber slides for the gym, the pool and the house.",
        V("SLD-SPT-40", "850", 10, size="40", colour="black"),
        V("SLD-SPT-42", "850", 8, size="42", colour="black"),
        V("SLD-SPT-44", "850", 5, size="44", colour="black"),
    ),
    _p(
        "Men's Slim-fit Stretch Jeans",
        "clothing",
        "Dark-wash stretch denim with a slim fit.",
        V("JNS-SLM-30", "2200", 5, size="30", colour="dark blue"),
        V("JNS-SLM-32", "2200", 8, size="32", colour="dark blue"),
        V("JNS-SLM-34", "2200", 6, size="34", colour="dark blue"),
        V("JNS-SLM-36", "2200", 0, size="36", colour="dark blue"),
    ),
    _p(
        "Mtumba Vintage Denim Jacket",
        "clothing",
        "Hand-picked second-hand (mtumba) denim jacket from Gikomba, grade A.",
        V("MTB-DJK-M", "1800", 2, size="M", colour="light blue"),
        V("MTB-DJK-L", "1800", 1, size="L", colour="light blue"),
    ),
    _p(
        "Mtumba Straight-leg Denim",
        "clothing",
        "Grade A mtumba straight-leg jeans, washed and ironed.",
        V("MTB-DNM-32", "1200", 4, size="32", colour="blue"),
        V("MTB-DNM-34", "1200", 3, size="34", colour="blue"),
        V("MTB-DNM-36", "1200", 0, size="36", colour="black"),
    ),
    _p(
        "Plain Cotton T-shirt",
        "clothing",
        "100% cotton crew-neck T-shirt.",
        V("TSH-PLN-WHT-M", "650", 20, size="M", colour="white"),
        V("TSH-PLN-BLK-L", "650", 15, size="L", colour="black"),
        V("TSH-PLN-NVY-XL", "650", 0, size="XL", colour="navy"),
        V("TSH-PLN-GRY-S", "650", 7, size="S", colour="grey"),
    ),
    _p(
        "Nairobi 254 Graphic Tee",
        "clothing",
        "Soft cotton tee with a '254 Nairobi' skyline print.",
        V("TSH-254-M", "900", 6, size="M", colour="black"),
        V("TSH-254-L", "900", 4, size="L", colour="black"),
        V("TSH-254-XL", "900", 2, size="XL", colour="white"),
    ),
    _p(
        "Men's Kitenge Shirt",
        "clothing",
        "Short-sleeve shirt in bright kitenge print, tailored in Nairobi.",
        V("KTG-SHT-M", "2500", 3, size="M", colour="orange print"),
        V("KTG-SHT-L", "2500", 4, size="L", colour="blue print"),
        V("KTG-SHT-XL", "2500", 0, size="XL", colour="orange print"),
    ),
    _p(
        "Ankara Print Maxi Dress",
        "clothing",
        "Flowing ankara maxi dress with a fitted waist.",
        V("DRS-ANK-S", "3800", 2, size="S"),
        V("DRS-ANK-M", "3800", 3, size="M"),
        V("DRS-ANK-L", "3800", 1, size="L"),
    ),
    _p(
        "Kitenge Wrap Skirt",
        "clothing",
        "Adjustable wrap skirt in kitenge fabric.",
        V("SKT-KTG-M", "1700", 5, size="M"),
        V("SKT-KTG-L", "1700", 0, size="L"),
    ),
    _p(
        "Floral Summer Dress",
        "clothing",
        "Light floral dress for warm Nairobi afternoons.",
        V("DRS-FLR-S", "2400", 3, size="S", colour="yellow"),
        V("DRS-FLR-M", "2400", 4, size="M", colour="yellow"),
        V("DRS-FLR-L", "2400", 2, size="L", colour="green"),
    ),
    _p(
        "Hooded Fleece Jacket",
        "clothing",
        "Warm fleece hoodie for chilly mornings in July.",
        V("JKT-FLC-M", "2800", 4, size="M", colour="grey"),
        V("JKT-FLC-L", "2800", 3, size="L", colour="maroon"),
        V("JKT-FLC-XL", "2800", 0, size="XL", colour="grey"),
    ),
    _p(
        "Bomber Jacket",
        "clothing",
        "Water-resistant bomber jacket with ribbed cuffs.",
        V("JKT-BMB-M", "3600", 2, size="M", colour="olive"),
        V("JKT-BMB-L", "3600", 2, size="L", colour="black"),
    ),
    _p(
        "School Uniform Shirt",
        "clothing",
        "White short-sleeve school shirt, easy iron.",
        V("UNI-SHT-8", "550", 15, size="age 8"),
        V("UNI-SHT-10", "550", 12, size="age 10"),
        V("UNI-SHT-12", "600", 10, size="age 12"),
        V("UNI-SHT-14", "600", 0, size="age 14"),
    ),
    _p(
        "Grey School Trousers",
        "clothing",
        "Hard-wearing grey school trousers with an adjustable waist.",
        V("UNI-TRS-8", "850", 9, size="age 8"),
        V("UNI-TRS-10", "850", 7, size="age 10"),
        V("UNI-TRS-12", "900", 5, size="age 12"),
    ),
    _p(
        "Chino Trousers",
        "clothing",
        "Smart-casual cotton chinos.",
        V("CHN-KHK-30", "2000", 3, size="30", colour="khaki"),
        V("CHN-KHK-32", "2000", 5, size="32", colour="khaki"),
        V("CHN-NVY-34", "2000", 2, size="34", colour="navy"),
    ),
    _p(
        "Kikoi Beach Shorts",
        "clothing",
        "Striped kikoi shorts from the coast, with a drawstring.",
        V("SHT-KKO-M", "1100", 6, size="M"),
        V("SHT-KKO-L", "1100", 4, size="L"),
    ),
    _p(
        "Piqué Polo Shirt",
        "clothing",
        "Cotton piqué polo with a two-button placket.",
        V("POL-PQE-M", "1300", 5, size="M", colour="white"),
        V("POL-PQE-L", "1300", 6, size="L", colour="navy"),
        V("POL-PQE-XL", "1300", 0, size="XL", colour="green"),
    ),
    _p(
        "Ladies' Denim Skirt",
        "clothing",
        "Knee-length denim skirt with front buttons.",
        V("SKT-DNM-S", "1600", 3, size="S"),
        V("SKT-DNM-M", "1600", 4, size="M"),
    ),
    _p(
        "Maasai Shuka Scarf",
        "accessories",
        "Red checked shuka, worn as a scarf or a light blanket.",
        V("ACC-SHK-RED", "800", 10, colour="red"),
        V("ACC-SHK-BLU", "800", 6, colour="blue"),
    ),
    _p(
        "Leather Belt",
        "accessories",
        "Full-grain leather belt with a brass buckle.",
        V("ACC-BLT-BRN-32", "950", 5, size="32", colour="brown"),
        V("ACC-BLT-BRN-34", "950", 4, size="34", colour="brown"),
        V("ACC-BLT-BLK-36", "950", 0, size="36", colour="black"),
    ),
    _p(
        "Beaded Bracelet Set",
        "accessories",
        "Set of three Maasai beaded bracelets.",
        V("ACC-BRC-SET", "400", 25, colour="multicolour"),
    ),
    _p(
        "Canvas Backpack",
        "accessories",
        "Sturdy canvas backpack with a padded laptop sleeve.",
        V("ACC-BPK-OLV", "2300", 3, colour="olive"),
        V("ACC-BPK-BLK", "2300", 5, colour="black"),
    ),
    _p(
        "Baseball Cap",
        "accessories",
        "Adjustable cotton cap.",
        V("ACC-CAP-BLK", "600", 8, colour="black"),
        V("ACC-CAP-WHT", "600", 0, colour="white"),
    ),
    _p(
        "Sports Socks (3 pairs)",
        "accessories",
        "Cushioned cotton sports socks, pack of three.",
        V("ACC-SCK-39-42", "450", 20, size="39-42"),
        V("ACC-SCK-43-46", "450", 12, size="43-46"),
    ),
    _p(
        "Shoe Polish Kit",
        "accessories",
        "Black and brown polish, brush and cloth in a tin.",
        V("ACC-PLS-KIT", "350", 15),
    ),
    _p(
        "Kiondo Woven Handbag",
        "accessories",
        "Hand-woven sisal kiondo bag with leather straps.",
        V("ACC-KND-NAT", "2600", 4, colour="natural"),
        V("ACC-KND-MLT", "2800", 2, colour="multicolour"),
    ),
)


def _attributes(variant: V) -> dict[str, str]:
    pairs = {"size": variant.size, "colour": variant.colour}
    return {name: value for name, value in pairs.items() if value is not None}


def demo_catalog(currency: str = "KES") -> list[NewProduct]:
    return [
        NewProduct(
            title=product.title,
            description=product.description,
            category=product.category,
            variants=[
                NewVariant(v.sku, Money.from_major(v.kes, currency), v.stock, _attributes(v))
                for v in product.variants
            ],
        )
        for product in CATALOG
    ]
