"""The demo shop's catalog: a Nairobi shoe-and-clothing duka, priced in KES (stable order)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.domain.money import Money
from backend.services.catalog.listing import NewProduct, NewVariant


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


# Ten more for the demo shop, after its first forty (their order is part of the demo).
SHOP_EXTRA: tuple[P, ...] = (
    _p("Suede Desert Boots", "shoes", "Soft suede ankle boots with crepe sole.",
       V("BT-DST-SND-41", "4200", 3, size="41", colour="sand"),
       V("BT-DST-SND-43", "4200", 2, size="43", colour="sand")),
    _p("Kids School Shoes", "shoes", "Black leather school shoes, durable sole.",
       V("SH-KID-BLK-30", "1500", 8, size="30", colour="black"),
       V("SH-KID-BLK-33", "1600", 6, size="33", colour="black")),
    _p("Leather Loafers", "shoes", "Slip-on leather loafers for the office.",
       V("SH-LOF-BRN-42", "3800", 4, size="42", colour="brown")),
    _p("Linen Kaftan", "clothing", "Light linen kaftan for hot Mombasa days.",
       V("CL-KFT-WHT-L", "3200", 4, size="L", colour="white"),
       V("CL-KFT-BLU-XL", "3200", 3, size="XL", colour="blue")),
    _p("Fleece Hoodie", "clothing", "Warm fleece hoodie for Nairobi mornings.",
       V("CL-HOD-GRY-M", "2200", 5, size="M", colour="grey"),
       V("CL-HOD-BLK-L", "2200", 5, size="L", colour="black")),
    _p("Pleated School Skirt", "clothing", "Navy pleated skirt, school uniform cut.",
       V("CL-SKT-NVY-10", "950", 12, size="10", colour="navy")),
    _p("Canvas Tote Bag", "accessories", "Sturdy canvas tote with kitenge lining.",
       V("ACC-TOT-NAT", "800", 15, colour="natural")),
    _p("Wool Scarf", "accessories", "Knitted wool scarf for cold Limuru evenings.",
       V("ACC-SCF-GRY", "900", 7, colour="grey"),
       V("ACC-SCF-MRN", "900", 6, colour="maroon")),
    _p("Bucket Hat", "accessories", "Cotton bucket hat, kitenge trim.",
       V("ACC-HAT-KTG", "650", 9, colour="multicolour")),
    _p("Shoe Laces (2 pairs)", "accessories", "Flat cotton laces, 120 cm.",
       V("ACC-LCE-WHT", "150", 30, colour="white"),
       V("ACC-LCE-BLK", "150", 30, colour="black")),
)


def _line(code: str, title: str, category: str, description: str,
          variants: tuple[tuple[str, str, int, str | None, str | None], ...]) -> P:
    return P(title, category, description,
             tuple(V(f"{code}-{suffix}", kes, stock, size, colour)
                   for suffix, kes, stock, size, colour in variants))


def _simple(code: str, title: str, category: str, description: str, kes: str,
            stock: int) -> P:
    return _line(code, title, category, description, (("STD", kes, stock, None, None),))


SALON: tuple[P, ...] = (
    *(_line(f"SAL-WIG-{n}", f"{style} Wig", "wigs", f"{style} human-hair blend wig.", (
        ("14", price, 3, "14in", "black"), ("18", str(int(price) + 1500), 2, "18in", "black")))
      for n, (style, price) in enumerate((("Bob Cut", "4500"), ("Body Wave", "6500"),
                                          ("Kinky Curly", "7000"), ("Straight Bone", "8000"),
                                          ("Water Wave", "6800")))),
    *(_line(f"SAL-BRD-{n}", f"{name} Braiding Hair", "braiding hair",
            f"{name} pre-stretched braiding hair, one pack.", (
                ("1B", price, 20, None, "black"), ("27", price, 10, None, "honey blonde"),
                ("30", price, 10, None, "auburn")))
      for n, (name, price) in enumerate((("Darling Super Star", "350"), ("X-pression", "450"),
                                         ("Ruwa", "400"), ("Kanekalon Jumbo", "300")))),
    *(_simple(f"SAL-CRE-{n}", name, category, description, price, stock)
      for n, (name, category, description, price, stock) in enumerate((
          ("Shea Butter Hair Cream", "hair care",
           "Raw shea butter leave-in cream, 250 ml.", "650", 25),
          ("Argan Oil Serum", "hair care",
           "Frizz-control serum with argan oil, 100 ml.", "1200", 15),
          ("Edge Control Gel", "hair care", "Strong-hold edge control, 120 g.", "450", 30),
          ("Sulphate-free Shampoo", "hair care",
           "Gentle shampoo for natural hair, 500 ml.", "900", 18),
          ("Deep Conditioner", "hair care", "Protein deep conditioner, 500 ml.", "1100", 12),
          ("Curl Defining Custard", "hair care",
           "Curl custard for wash-and-go, 300 ml.", "1300", 10),
          ("Braid Spray", "hair care", "Soothing braid and scalp spray, 250 ml.", "700", 20),
          ("Relaxer Kit", "hair care", "No-lye relaxer kit, regular strength.", "850", 14),
          ("Hair Food Pomade", "hair care", "Classic hair food, 200 g.", "300", 40),
          ("Satin Bonnet", "accessories", "Double-layer satin sleep bonnet.", "500", 22),
          ("Wide Tooth Comb", "accessories", "Detangling wide-tooth comb.", "150", 50),
          ("Rat Tail Comb Set", "accessories", "Parting combs, set of three.", "250", 35),
          ("Gel Nail Polish", "nails", "Long-wear gel polish, 10 ml.", "600", 30),
          ("Press-on Nails", "nails", "24 press-on nails with glue.", "800", 18),
          ("Nail Polish Remover", "nails", "Acetone-free remover, 120 ml.", "350", 25),
          ("Cuticle Oil", "nails", "Vitamin E cuticle oil pen.", "400", 20),
          ("Matte Lipstick", "makeup", "Long-wear matte lipstick.", "750", 24),
          ("Foundation", "makeup",
           "Full-coverage foundation for deep skin tones, 30 ml.", "1800", 12),
          ("Eyelash Extensions", "makeup", "Mink-effect strip lashes, 5 pairs.", "900", 16),
          ("Makeup Brush Set", "makeup", "Twelve-piece brush set in a pouch.", "2200", 8),
          ("Body Lotion Cocoa", "skin care", "Cocoa butter body lotion, 400 ml.", "700", 20),
          ("Black Soap", "skin care", "African black soap bar, 150 g.", "300", 40),
          ("Face Toner", "skin care", "Rose water face toner, 200 ml.", "650", 15),
          ("Sunscreen SPF 50", "skin care", "Light sunscreen for daily use, 100 ml.", "1500", 10),
          ("Beard Oil", "men's grooming",
           "Beard oil with castor and peppermint, 50 ml.", "800", 14),
          ("After Shave Balm", "men's grooming", "Alcohol-free after-shave balm.", "650", 12),
          ("Clipper Oil", "men's grooming", "Maintenance oil for clippers, 120 ml.", "300", 20),
          ("Hair Dye Black", "hair colour", "Permanent hair dye, jet black.", "450", 25),
          ("Hair Dye Burgundy", "hair colour", "Permanent hair dye, burgundy.", "450", 15),
          ("Spray Bottle", "accessories", "Fine-mist water spray bottle.", "200", 30),
          ("Hair Dryer Hood", "tools", "Soft bonnet hood dryer attachment.", "1900", 5),
          ("Flat Iron", "tools", "Ceramic flat iron, adjustable heat.", "3500", 4),
          ("Crochet Needle", "tools", "Latch hook crochet needle for braids.", "150", 40),
          ("Bobby Pins Pack", "accessories", "Black bobby pins, 100 pieces.", "200", 30),
          ("Loc Jewellery Set", "accessories",
           "Gold-tone loc cuffs and rings, 20 pieces.", "500", 18),
          ("Scalp Massager", "tools", "Silicone shampoo brush.", "350", 22),
          ("Hair Net", "accessories", "Wig cap and hair net set.", "150", 45),
          ("Keratin Treatment", "hair care", "At-home keratin treatment kit.", "2800", 6),
          ("Tea Tree Shampoo", "hair care", "Tea tree anti-dandruff shampoo, 500 ml.", "950", 14),
          ("Nail File Set", "nails", "Glass nail files, set of three.", "300", 26),
          ("Hand Cream", "skin care", "Shea hand cream, 75 ml.", "400", 20),
      ))),
)

MIXED: tuple[P, ...] = (
    *(_line(f"MX-PHN-{n}", phone, "phones", f"{phone}, brand new with one-year warranty.", (
        ("64", price, 4, "64GB", "black"), ("128", str(int(price) + 3000), 3, "128GB", "blue")))
      for n, (phone, price) in enumerate((("Tecno Spark 20", "14500"), ("Infinix Hot 40", "16000"),
                                          ("Samsung Galaxy A15", "21000"), ("Itel A70", "9500"),
                                          ("Redmi 13C", "15500"), ("Nokia C32", "13000")))),
    *(_line(f"MX-CASE-{n}", f"{phone} Case", "phone cases", f"Shock-proof case for {phone}.", (
        ("BLK", "500", 20, None, "black"), ("CLR", "450", 20, None, "clear")))
      for n, phone in enumerate(("Tecno Spark", "Infinix Hot", "Samsung A-series", "iPhone 12",
                                 "Redmi Note"))),
    *(_simple(f"MX-ACC-{n}", name, category, description, price, stock)
      for n, (name, category, description, price, stock) in enumerate((
          ("Tempered Glass Screen Protector", "screen protectors",
           "9H tempered glass, most models.", "300", 60),
          ("Privacy Screen Protector", "screen protectors", "Anti-spy tempered glass.", "600", 25),
          ("USB-C Fast Charger 25W", "chargers", "25 W USB-C wall charger.", "1500", 18),
          ("Micro-USB Charger", "chargers", "10 W micro-USB charger with cable.", "600", 30),
          ("Car Charger Dual USB", "chargers", "Dual-port car charger, 3.1 A.", "700", 15),
          ("USB-C Cable 1m", "cables", "Braided USB-C cable, 1 metre.", "400", 50),
          ("Lightning Cable", "cables", "MFi lightning cable, 1 metre.", "900", 20),
          ("Micro-USB Cable", "cables", "Micro-USB cable, 1 metre.", "250", 50),
          ("Power Bank 10000mAh", "power banks", "Slim 10,000 mAh power bank.", "2200", 12),
          ("Power Bank 20000mAh", "power banks", "20,000 mAh with fast charging.", "3500", 8),
          ("Bluetooth Earbuds", "audio", "True wireless earbuds with charging case.", "2500", 10),
          ("Wired Earphones", "audio", "In-ear earphones with mic.", "350", 40),
          ("Bluetooth Speaker", "audio", "Portable waterproof speaker.", "3000", 6),
          ("Memory Card 32GB", "storage", "microSD card, class 10.", "700", 25),
          ("Memory Card 64GB", "storage", "microSD card, class 10.", "1100", 20),
          ("Flash Disk 32GB", "storage", "USB 3.0 flash drive.", "800", 20),
          ("Replacement Battery Tecno", "spare parts",
           "Replacement battery for Tecno Spark series.", "1200", 10),
          ("Replacement Battery Samsung", "spare parts",
           "Replacement battery for Samsung A-series.", "1500", 8),
          ("Replacement Screen Infinix", "spare parts",
           "LCD and touch assembly for Infinix Hot.", "3500", 5),
          ("Charging Port Flex", "spare parts",
           "Charging port flex cable, common models.", "600", 12),
          ("Phone Holder for Car", "accessories", "Dashboard and vent phone mount.", "800", 14),
          ("Ring Light 10 inch", "accessories", "Ring light with tripod for video.", "2800", 5),
          ("Selfie Stick", "accessories", "Bluetooth selfie stick and tripod.", "1000", 9),
          ("Smart Watch", "wearables", "Fitness smart watch with heart-rate monitor.", "3800", 6),
          ("Fitness Band", "wearables", "Step counter and sleep tracker band.", "1800", 8),
          ("Wi-Fi Router 4G", "networking", "4G LTE pocket router, any SIM.", "4500", 4),
          ("Extension Cable 4-way", "electrical",
           "Surge-protected four-way extension.", "1200", 10),
          ("Laptop Charger Universal", "chargers", "Universal 90 W laptop charger.", "2500", 6),
          ("Keyboard and Mouse Set", "computer", "Wireless keyboard and mouse.", "2200", 7),
          ("Phone Cleaning Kit", "accessories", "Screen spray, cloth and port brushes.", "350", 20),
          ("SIM Ejector Tools", "accessories", "Pack of ten SIM ejector pins.", "100", 50),
          ("OTG Adapter USB-C", "cables", "USB-C to USB-A OTG adapter.", "300", 30),
          ("Tablet 8 inch", "tablets", "8-inch Android tablet, 32 GB.", "12500", 3),
          ("Feature Phone Dual SIM", "phones",
           "Basic dual-SIM phone with torch and radio.", "1800", 10),
          ("Solar Charger Panel", "power banks", "Foldable 20 W solar phone charger.", "2600", 5),
          ("Waterproof Phone Pouch", "phone cases", "Waterproof pouch with lanyard.", "400", 20),
          ("Headphones Over-ear", "audio", "Over-ear wired headphones.", "1500", 7),
          ("Screen Repair Adhesive", "spare parts",
           "B-7000 adhesive for screen repairs, 15 ml.", "250", 15),
          ("Phone Stand Desk", "accessories", "Adjustable aluminium phone stand.", "700", 12),
      ))),
)

def _attributes(variant: V) -> dict[str, str]:
    pairs = {"size": variant.size, "colour": variant.colour}
    return {name: value for name, value in pairs.items() if value is not None}


def demo_catalog(currency: str = "KES") -> list[NewProduct]:
    """The demo shop's first forty products, in their historical order."""
    return _products(CATALOG, currency)


CATALOGS: dict[str, tuple[P, ...]] = {
    "shop": CATALOG + SHOP_EXTRA,
    "salon": SALON,
    "mixed": MIXED,
}


def catalog_for(kind: str, currency: str = "KES") -> list[NewProduct]:
    """Fifty products for a "shop", a "salon" or a "mixed" (phones and repairs) business."""
    try:
        products = CATALOGS[kind]
    except KeyError:
        raise ValueError(f"Unknown business kind {kind!r}; one of {sorted(CATALOGS)}") from None
    return _products(products, currency)


def _products(products: tuple[P, ...], currency: str) -> list[NewProduct]:
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
        for product in products
    ]
