"""Word lists behind the language detector: English, Swahili and Sheng evidence."""

# Words are stored lower-case, without diacritics, apostrophes or hyphens ("dont", "im",
# "mpesa"), because the detector normalises tokens the same way before looking them up.

# English words that only an English sentence carries (weight 1).
ENGLISH_WORDS = frozenset(
    """
    i im ive id ill me my mine myself you youre youve your yours u ur us our ours they
    them their theirs he she him her his it its itself this that these those there here
    is are was were be been being do does did doing dont doesnt didnt isnt arent wasnt
    have has had having havent hasnt can cant could couldnt would wouldnt should will
    wont shall may might must what whats which who whom whose where wheres when why how
    hows much many some any anything something nothing everything all every each more
    most less other another only just also too very really so but and or if because
    then than with without from by about into over under up down out off again still
    yet not never always maybe yeah yep yup nope
    good great morning afternoon evening night later see soon tomorrow today tonight
    yesterday now week weekend time day days
    want wanna need needed like looking look show tell give get got gonna buy bought
    sell sells selling sold pay paid paying send sent receive received know think come
    coming go going went wait help find pick choose take add remove cancel return
    exchange change call talk speak keep make let lets bring deliver delivered use
    available cheap cheaper cheapest expensive affordable awesome perfect
    cheers anyway
    person agent human someone anyone people guys friend money cost costs
    new used old big small large best other same different kind type one ones two
    three four five six seven eight nine ten first second third last next
    item items thing things stuff something
    men mens women womens ladies kids children boys girls
    long far near close open closed free within before after until since while during
    instead else already enough accept status negotiable
    hw wat wht whr wen dis dat dem lemme coz cuz bcoz tho btw asap abt
    """.split()
)

# English function words that also turn up inside Swahili sentences ("delivery ni ngapi
# to Rongai") and polite loans every Kenyan uses ("hi", "bye", "thanks"): weaker evidence.
ENGLISH_WEAK = {
    **dict.fromkeys("the a an to of in on at for is it".split(), 0.6),
    **dict.fromkeys(
        "hi hello hey hallo bye byee goodbye thanks thank thx please pls plz sorry "
        "yes no sure cool nice fine welcome".split(),
        0.3,
    ),
}

# Swahili words (standard and everyday Kenyan Swahili).
SWAHILI_WORDS = frozenset(
    """
    na ya wa za la cha vya kwa ni si sio siyo hii hiyo hio hizi hizo huyu huyo hawa hao
    ile zile kile hicho hiki hili hilo vile hivi hivyo hapa pale huko kule hapo humu
    nini gani ngapi wapi lini vipi nani je kama lakini ila au ama pia tu sana bado tena
    leo kesho jana asubuhi mchana alasiri jioni usiku saa siku wiki mwezi mwaka mara
    tafadhali tafadhari asante asanteni ahsante shukrani shukran karibu karibuni kwaheri
    kwaherini habari hujambo sijambo hamjambo shikamoo salama nzuri mzuri vizuri sawa
    ndio ndiyo hapana hakuna kuna iko ziko kiko yuko uko niko mko tuko
    yangu yako yake yetu yenu yao wangu wako wake changu chako chake zangu zako zake langu
    lako lake vyangu vyako mimi wewe yeye sisi nyinyi ninyi wao
    mtu watu kitu vitu bei pesa hela duka dukani viatu kiatu nguo mavazi rangi kubwa
    ndogo kidogo nyingi zaidi chini juu ndani nje mpya bure ghali rahisi punguzo oda
    mteja wateja bidhaa huduma malipo mzigo kifurushi simu nambari namba jina mahali
    nyumbani kazini mjini njia
    nataka ninataka tunataka unataka anataka mnataka naomba tunaomba nipe tupe nionyeshe
    tuonyeshe nitumie tutumie niambie tuambie niletee nisaidie saidia naweza unaweza
    mnaweza tunaweza sijui sielewi sitaki siwezi sina hatuna hamna mna una ana tuna nina
    wana nimeona nimepata nimelipa nimetuma nilituma nimefika haijafika haijaingia
    imefika imeingia inakuja itafika nitalipa nitakuja nitachukua nunua uza lipa tuma
    leta ona angalia chukua rudisha badilisha ghairi agiza pata ongea ongeza toa weka
    kununua kuuza kulipa kutuma kuagiza kupata kujua kuona kuongea kurudisha kubadilisha
    kughairi kuleta kufika kuweka kuchukua kusaidia kwenda kuja kuwa
    ebu hebu basi halafu kisha pamoja kila yote zote wote moja mbili tatu nne tano sita
    saba nane tisa kumi elfu mia ishirini thelathini arobaini hamsini kwanza pili mwisho
    mbona sababu hata bila mpaka hadi tangu kwenye katika kutoka kuhusu labda kweli
    haraka polepole pole samahani sasahivi tutaonana baadaye kutwa
    jumatatu jumanne jumatano alhamisi ijumaa jumamosi jumapili
    mnauza mnafanya mnapeana mnaleta mnakaa mnapatikana mnafunga mnafungua tutaongea
    """.split()
)

# Sheng markers: any one of them makes a Swahili or English sentence Sheng.
SHENG_WORDS = frozenset(
    """
    niaje niajeh niajee naje msee mse wasee maze manze mazee buda budah budaa bazu
    poa fiti fity freshi rada radaa wozza woza wozzza semaje sasawa
    ndula ndulas raba rabas doh ganji mulla chapaa munde ngiri bob mbao thao soo finje
    aje naeza unaeza mnaeza tunaeza anaeza nitaeza utaeza mtaeza siezi haiezi
    nadai unadai mnadai tunadai anadai sai saii sahii ju venye vinye
    cheki kucheki nicheki nimecheki tucheki ucheki mcheki chekii kukam nikam nimekam
    tukam ukam anakam kam mathree mat shagz ocha dem manzi chali msupa mbogi ngori
    sonko zii noma fom mabeshte beshte mtaani mzinga ngware kudai kuchill tuchill mzae
    hepa nahepa kuhepa nihepe tuhepe nimehepa amehepa mtush
    sato satoo sande sidai hatudai mathe mathee hivo nipee tupee
    """.split()
)

# Weaker Sheng/colloquial markers: count only together with other hints.
SHENG_WEAK = {
    **dict.fromkeys("mambo boda tao mi bana wacha ata sema wazi ka mtumba".split(), 0.5),
}

# Neither language: commerce loan words, colours, brands, filler.  Listed so that
# "delivery ni ngapi" or "nataka black" are decided by their Swahili words only.
NEUTRAL_WORDS = frozenset(
    """
    ok okay k kk order orders delivery cart size sizes colour color stock mpesa till
    paybill cash card visa shop price prices offer offers promo promotion discount
    account refund phone whatsapp location pin appointment booking salon cbd town
    online website link photo photos pic pics picture pictures catalog catalogue menu
    brand original quality design black white red blue green yellow pink brown grey
    gray navy beige maroon purple orange boss bro sis madam maam sir kes ksh kshs sh
    shs usd am pm we pale wake mali sale pair pairs pc pcs piece pieces
    """.split()
) | frozenset(
    # Kenyan places whose shape looks like an inflected Swahili verb (na-irobi, ki-li-mani).
    """
    nairobi nakuru naivasha nanyuki narok namanga nandi kilimani utawala kitengela
    kileleshwa kiambu kikuyu kitale kitui kisumu kisii kakamega kajiado kiserian
    """.split()
)

# English verb stems that Sheng conjugates with Swahili prefixes: ku-order, nimepay.
SHENG_VERB_STEMS = frozenset(
    """
    buy order book cancel deliver refund swap pay send check cheki confirm return change
    exchange try call text chat pick select choose chill sort upgrade track ship post
    reserve rebook reschedule pack view add remove delete update rate share follow
    download topup transfer withdraw receive collect fit match drop save link tag
    reply push approve verify checkout shop move rush feel enjoy kam
    """.split()
)

# English nouns that Sheng wraps in Swahili noun classes: mashoes, ka-jacket.
SHENG_NOUN_PREFIXES = ("ma", "ka")
SHENG_NOUNS = frozenset(
    """
    shoes sneakers boots jeans dresses jackets clothes tshirts shirts phones bags caps
    hoodies trousers shorts socks heels sandals bucks shoe sneaker boot dress jacket
    tshirt shirt phone bag cap hoodie trouser sock heel sandal offer discount
    """.split()
)

# Swahili verb prefixes used to recognise inflected verbs and Sheng forms.
SUBJECT_PREFIXES = (
    "ni", "u", "a", "tu", "m", "mu", "wa", "i", "zi", "ki", "vi", "li", "ya",
    "si", "ha", "hatu", "ham", "hawa", "hai", "hazi",
)
TENSE_MARKERS = ("na", "li", "ta", "me", "ja", "nge", "ki", "sha")
OBJECT_MARKERS = ("ni", "ku", "m", "mw", "tu", "wa", "ki", "vi", "i", "zi", "li", "ya")
SHENG_VERB_SUFFIXES = ("", "i", "ie", "ia", "iwa", "ishwa", "isha", "ishe", "ika")
