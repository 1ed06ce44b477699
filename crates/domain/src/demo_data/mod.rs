//! Demo and test data shared by `beredd demo` and the tests: suppliers, care units, a catalog of
//! care consumables and orders in every status for the invented Region Sjölanda. Everything is
//! generated deterministically (no clock, no randomness), and every name is invented.

use crate::catalog::gtin;
use crate::command::{
    ArticleFields, Command, LineFields, OrderAction, OrderFields, OrganisationFields, Received, SupplierFields,
    UnitFields,
};
use crate::ids::{ArticleId, CommandId, OrderId, SupplierId, UnitId};
use time::Date;
use time::macros::date;

/// The whole demo data set, in the order it must be created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoData {
    pub organisation: OrganisationFields,
    pub suppliers: Vec<SupplierFields>,
    pub units: Vec<UnitFields>,
    pub articles: Vec<ArticleFields>,
    pub orders: Vec<DemoOrder>,
}

/// An order and the actions that bring it to its demo status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOrder {
    pub fields: OrderFields,
    pub actions: Vec<OrderAction>,
}

/// Builds the demo data set; the same every time.
pub fn demo() -> DemoData {
    let suppliers = suppliers();
    let units = units();
    let articles = articles();
    let orders = orders(&articles);
    DemoData { organisation: organisation(), suppliers, units, articles, orders }
}

/// The invented buyer: Region Sjölanda, its purchasing function as the contact.
fn organisation() -> OrganisationFields {
    let body = "232100-016";
    OrganisationFields {
        name: "Region Sjölanda".to_owned(),
        org_number: Some(format!("{body}{}", luhn_check_digit(body))),
        gln: Some(gtin::with_check_digit("735000900000")),
        country: "SE".to_owned(),
        currency: "SEK".to_owned(),
        address: vec!["Region Sjölanda, Regionens hus".to_owned(), "Box 1100".to_owned(), "412 81 Ekbacka".to_owned()],
        contact_name: Some("Inköp jour".to_owned()),
        phone: Some("031-390 06 00".to_owned()),
        email: Some("inkop@sjolanda.example".to_owned()),
    }
}

/// Every demo command, in an order that applies cleanly, each with a stable command id (e.g.
/// "demo:sup:medilux", "demo:ord:0007:2") so that seeding twice changes nothing.
pub fn demo_commands() -> Vec<(CommandId, Command)> {
    let d = demo();
    let mut out =
        vec![(CommandId::new("demo:org"), Command::SetOrganisation { expected_version: None, fields: d.organisation })];
    for s in d.suppliers {
        out.push((CommandId::new(format!("demo:sup:{}", s.id)), Command::CreateSupplier(s)));
    }
    for u in d.units {
        out.push((CommandId::new(format!("demo:unit:{}", u.id)), Command::CreateUnit(u)));
    }
    for a in d.articles {
        out.push((CommandId::new(format!("demo:art:{}", a.id)), Command::CreateArticle(a)));
    }
    for (n, o) in d.orders.into_iter().enumerate() {
        let tag = format!("demo:ord:{:04}", n + 1);
        let order_id = o.fields.id.clone();
        out.push((CommandId::new(tag.clone()), Command::CreateOrder(o.fields)));
        for (k, action) in o.actions.into_iter().enumerate() {
            let cmd = Command::Transition { order_id: order_id.clone(), expected_version: None, action };
            out.push((CommandId::new(format!("{tag}:{}", k + 1)), cmd));
        }
    }
    out
}

/// The demo's status board: shared systems and each hospital's own, one light that is not
/// green, and one hospital in stabsläge. Posted by `beredd demo` after the catalog.
pub fn demo_status() -> Vec<(CommandId, Command)> {
    use crate::command::{ReadinessFields, SystemFields};
    use crate::ids::SystemId;
    use crate::status::{ReadinessLevel, SystemState};
    let mut out = Vec::new();
    let mut system = |id: &str, name: &str, site: &str, description: &str| {
        let fields = SystemFields {
            id: SystemId::new(id),
            name: name.into(),
            site: site.into(),
            description: Some(description.into()),
            state: SystemState::Operational,
        };
        out.push((CommandId::new(format!("demo:sys:{id}")), Command::PutSystem { expected_version: None, fields }));
    };
    system("erp", "Affärssystem (ERP)", "", "Beställningar, fakturor och lager");
    system("leverantorsportal", "Leverantörsportalen", "", "Beställningar till avtalsleverantörer");
    system("journal", "Journalsystemet", "", "Patientjournal för alla sjukhus");
    system("epost", "E-post", "", "Regionens e-post och kalender");
    system("natverk", "Regionnätet", "", "Förbindelserna mellan sjukhusen");
    for (key, site) in SITES.iter().enumerate().map(|(i, s)| (["ekb", "nrv", "sjb"][i % 3], s.name)) {
        system(&format!("{key}-vaxel"), "Telefonväxel", site, "Växel och anknytningar");
        system(&format!("{key}-personsok"), "Personsökare", site, "Larm och personsökning");
        system(&format!("{key}-lab"), "Laboratoriesystem", site, "Provbeställning och svar");
    }
    out.push((
        CommandId::new("demo:sys:nrv-personsok:state"),
        Command::SetSystemState {
            system_id: SystemId::new("nrv-personsok"),
            state: SystemState::DegradedPerformance,
            note: "Fördröjda larm i hus 4; ring avdelningen direkt vid brådskande ärenden.".into(),
        },
    ));
    out.push((
        CommandId::new("demo:readiness:nrv"),
        Command::SetReadiness(ReadinessFields {
            site: SITES[1 % SITES.len()].name.into(),
            level: ReadinessLevel::StaffAlert,
            note: "Stabsläge under personsökarstörningen; stabschef nås via växeln.".into(),
        }),
    ));
    out
}

/// The demo's contact directory: functions first (each with routes in fallback order), then
/// people, a supplier's customer service and an outside organisation. The on-call rota is made
/// by `beredd demo` from the clock (shifts are moments), staffed by the three purchasers here.
pub fn demo_contacts() -> Vec<(CommandId, Command)> {
    use crate::command::ContactFields;
    use crate::contacts::{ContactKind, Route, RouteKind};
    use crate::ids::ContactId;
    let tested = time::macros::date!(2026 - 11 - 16);
    let r = |kind: RouteKind, value: &str, hours: &str| Route {
        kind,
        value: value.into(),
        hours: hours.into(),
        last_tested: Some(tested),
        note: String::new(),
    };
    let always = "dygnet runt";
    let office = "vardagar 08–16";
    let entry = |id: &str, kind: ContactKind, name: &str, title: &str, routes: Vec<Route>| ContactFields {
        id: ContactId::new(id),
        kind,
        name: name.into(),
        title: title.into(),
        organisation: "Region Sjölanda".into(),
        unit_id: None,
        site: String::new(),
        supplier_id: None,
        routes,
        note: String::new(),
        withdrawn: false,
    };
    use ContactKind::{Function, Person};
    use RouteKind::*;
    let ekbacka = SITES[0].name;
    let norrvik = SITES[1 % SITES.len()].name;
    let entries = vec![
        ContactFields {
            note: "Tar emot akuta beställningar när ordinarie inköp är stängt eller systemen ligger nere.".into(),
            site: ekbacka.into(),
            ..entry(
                "inkop-jour",
                Function,
                "Inköp jour",
                "Jourhavande inköpare",
                vec![
                    r(Phone, "010-100 80 00", always),
                    r(Mobile, "+46 70-180 80 00", always),
                    r(Email, "inkop.jour@sjolanda.example", always),
                    r(Rakel, "RSG INKÖP 1", always),
                    r(Satellite, "+870 776 480 000", always),
                    r(InPerson, "Ekbacka hus 3, plan 1, inköpsexpeditionen", office),
                ],
            )
        },
        entry(
            "it-beredskap",
            Function,
            "IT-beredskap",
            "IT-tekniker i beredskap",
            vec![
                r(Phone, "010-100 90 00", always),
                r(Pager, "4711", always),
                r(Rakel, "RSG IT 1", always),
                r(Email, "it.beredskap@sjolanda.example", always),
            ],
        ),
        entry(
            "tib",
            Function,
            "Tjänsteman i beredskap (TiB)",
            "Larmas via SOS Alarm",
            vec![
                r(Phone, "010-100 11 22", always),
                r(Rakel, "RSG TIB", always),
                r(Satellite, "+870 776 480 112", always),
            ],
        ),
        ContactFields {
            site: ekbacka.into(),
            ..entry(
                "vaxel-ekbacka",
                Function,
                "Växeln Ekbacka",
                "Alltid bemannad",
                vec![r(Phone, SITES[0].phone, always), r(InPerson, "Ekbacka huvudentré, informationsdisken", always)],
            )
        },
        ContactFields {
            site: norrvik.into(),
            ..entry(
                "vaxel-norrvik",
                Function,
                "Växeln Norrvik",
                "Alltid bemannad",
                vec![r(Phone, SITES[1 % SITES.len()].phone, always), r(Rakel, "RSG NORRVIK VÄXEL", always)],
            )
        },
        ContactFields {
            site: ekbacka.into(),
            ..entry(
                "anna-andersson",
                Person,
                "Anna Andersson",
                "Inköpare",
                vec![
                    r(Mobile, "+46 70-111 22 01", always),
                    r(Email, "anna.andersson@sjolanda.example", office),
                    r(Phone, "010-100 81 01", office),
                ],
            )
        },
        ContactFields {
            site: norrvik.into(),
            ..entry(
                "bjorn-berg",
                Person,
                "Björn Berg",
                "Inköpare",
                vec![r(Mobile, "+46 70-111 22 02", always), r(Email, "bjorn.berg@sjolanda.example", office)],
            )
        },
        ContactFields {
            site: ekbacka.into(),
            ..entry(
                "cecilia-ostlund",
                Person,
                "Cecilia Östlund",
                "Inköpssamordnare",
                vec![r(Mobile, "+46 70-111 22 03", always), r(Email, "cecilia.ostlund@sjolanda.example", office)],
            )
        },
        ContactFields {
            unit_id: Some(crate::ids::UnitId::new("ekb-iva")),
            site: ekbacka.into(),
            ..entry(
                "david-oberg",
                Person,
                "David Öberg",
                "Överläkare, IVA",
                vec![r(Pager, "2231", always), r(Phone, "031-390 12 31", always)],
            )
        },
        ContactFields {
            organisation: "Medilux Sjukvård AB".into(),
            supplier_id: Some(crate::ids::SupplierId::new("medilux")),
            ..entry(
                "medilux-kundtjanst",
                Function,
                "Medilux kundtjänst",
                "Order och leveranser",
                vec![
                    r(Phone, "08-465 004 00", office),
                    r(Email, "order@medilux.example", office),
                    r(Phone, "070-465 004 99", "jourtelefon kvällar och helger"),
                ],
            )
        },
        ContactFields {
            organisation: "Sjöby kommun".into(),
            site: String::new(),
            ..entry(
                "sjoby-krisledning",
                Function,
                "Sjöby kommun, krisledning",
                "Kommunens tjänsteman i beredskap",
                vec![r(Phone, "0411-770 00 00", always), r(Rakel, "KOMMUN SJÖBY TIB", always)],
            )
        },
    ];
    entries
        .into_iter()
        .map(|f| {
            (
                CommandId::new(format!("demo:contact:{}", f.id)),
                Command::PutContact { expected_version: None, fields: f },
            )
        })
        .collect()
}

/// The demo's action cards, each linked to the systems whose failure calls for it.
pub fn demo_cards() -> Vec<(CommandId, Command)> {
    use crate::cards::Category;
    use crate::command::CardFields;
    use crate::ids::{CardId, SystemId};
    let card = |id: &str, category: Category, title: &str, systems: &[&str], parts: [&str; 5]| CardFields {
        id: CardId::new(id),
        category,
        title: title.into(),
        task: parts[0].into(),
        who: parts[1].into(),
        trigger: parts[2].into(),
        actions: parts[3].into(),
        documentation: parts[4].into(),
        owner: "Beredskapssamordnare, Region Sjölanda".into(),
        approver: "Sjukhusdirektör".into(),
        approved_on: Some(time::macros::date!(2026 - 09 - 15)),
        review_by: time::macros::date!(2027 - 09 - 15),
        systems: systems.iter().map(|s| SystemId::new(*s)).collect(),
        withdrawn: false,
    };
    let mut cards = vec![
        card(
            "erp-nere",
            Category::SystemDowntime,
            "Affärssystemet (ERP) ligger nere",
            &["erp", "leverantorsportal"],
            [
                "Kunna beställa förbrukningsmaterial utan affärssystemet.",
                "Inköpare i tjänst; på avdelningen ansvarig sjuksköterska.",
                "När ERP eller leverantörsportalen är ur drift mer än 30 minuter, eller enligt besked från IT-beredskap.",
                "1. Lägg beställningen i **beredd** (den når alla sjukhus, även utan ERP).\n2. Inköp jour skickar leverantörsfilen (PDF eller PEPPOL) per e-post eller läser upp den per telefon.\n3. Brådskande: ring leverantörens jourtelefon, se *Kontakter*.\n4. Märk godset med beställningsnumret från beredd.",
                "- Beställningsnummer i beredd och leverantörens ordernummer\n- Vem som beställde och när\n- Allt detta förs in i ERP när det är i drift igen (efterregistrering).",
            ],
        ),
        card(
            "strom",
            Category::PowerLoss,
            "Strömavbrott på avdelningen",
            &[],
            [
                "Säkra patienter och utrustning när elen går och reservkraften inte räcker.",
                "Ansvarig sjuksköterska; driftcentralen för fastigheten.",
                "När belysning och uttag slocknar och reservkraft inte startat inom 15 sekunder.",
                "1. Kontrollera patienter med eldriven utrustning (ventilatorer, pumpar).\n2. Ring driftcentralen via växeln; fungerar inte telefonin: RAKEL *RSG DRIFT*.\n3. Hämta ficklampor och batteridriven utrustning ur beredskapsskåpet.\n4. Öppna den blå pärmen: läkemedelslistor på papper.",
                "Tidpunkter, vilka patienter som påverkades och vilken utrustning som byttes.",
            ],
        ),
        card(
            "natverk",
            Category::NetworkLoss,
            "Nätverket mellan sjukhusen är nere",
            &["natverk", "epost"],
            [
                "Hålla kontakten mellan sjukhusen när regionnätet är ur drift.",
                "Sjukhusledningen i beredskap och IT-beredskap.",
                "När flera system samtidigt är nåbara bara lokalt, eller enligt besked från IT-beredskap.",
                "1. Använd beredd på det egna sjukhusets nod: beställningar läggs lokalt och delas när nätet är tillbaka.\n2. Samordna via RAKEL-talgrupp *RSG TIB*.\n3. Skriv ut beredskapspärmen från beredd om den inte redan finns på papper.",
                "Vilka beställningar och beslut som togs lokalt; stäm av dem när förbindelsen är tillbaka.",
            ],
        ),
        card(
            "it-sakerhet",
            Category::ItSecurity,
            "Misstänkt IT-säkerhetsincident",
            &[],
            [
                "Begränsa skadan vid misstänkt intrång eller skadlig kod.",
                "Den som upptäcker; därefter IT-beredskap.",
                "Okända program, krypterade filer, konton som låses eller meddelanden om lösensumma.",
                "1. Dra ur nätverkskabeln på den berörda datorn, stäng **inte** av den.\n2. Ring IT-beredskap (se Kontakter), inte via e-post.\n3. Fortsätt arbetet enligt reservrutinerna.",
                "Tid, dator, vad som syntes på skärmen, vem som kontaktades.",
            ],
        ),
        card(
            "vaxel",
            Category::Telephony,
            "Telefonväxeln fungerar inte",
            &["ekb-vaxel", "nrv-vaxel", "sjb-vaxel"],
            [
                "Kunna nå och larma personal när växeln är ur drift.",
                "Växelpersonal och avdelningarnas ansvariga sjuksköterskor.",
                "När interna och externa samtal inte kopplas.",
                "1. Använd mobiltelefon och RAKEL enligt kontaktlistan.\n2. Sätt upp en budbärare vid informationsdisken.\n3. Personsökare fungerar fristående från växeln.",
                "Vilka larm som gick via bud eller RAKEL, och när.",
            ],
        ),
    ];
    cards.sort_by(|a, b| a.id.cmp(&b.id));
    cards
        .into_iter()
        .map(|f| {
            (CommandId::new(format!("demo:card:{}", f.id)), Command::PutCard { expected_version: None, fields: f })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Suppliers
// ---------------------------------------------------------------------------------------------

struct SupplierSeed {
    id: &'static str,
    name: &'static str,
    /// The first nine digits of the organisationsnummer, as "NNNNNN-NNN"; the Luhn check digit
    /// is added.
    org_body: &'static str,
    /// GS1 company prefix after the Swedish "735", used for the GLN and the articles' GTINs.
    gs1: u32,
    email: &'static str,
    /// Numbers from the series PTS keeps for fiction.
    phone: &'static str,
    /// Prefix and first number of the supplier's own article numbers.
    art_prefix: &'static str,
    art_base: u32,
    address: [&'static str; 2],
}

const SUPPLIERS: &[SupplierSeed] = &[
    SupplierSeed {
        id: "medilux",
        name: "Medilux Sjukvård AB",
        org_body: "556734-218",
        gs1: 2041,
        email: "order@medilux.example",
        phone: "08-465 004 12",
        art_prefix: "ML",
        art_base: 44000,
        address: ["Box 1204", "172 24 Sundbyberg"],
    },
    SupplierSeed {
        id: "nordvard",
        name: "Nordvård Medical AB",
        org_body: "556481-905",
        gs1: 2187,
        email: "kundtjanst@nordvard.example",
        phone: "031-390 06 31",
        art_prefix: "NV",
        art_base: 7100,
        address: ["Fabriksgatan 7", "412 50 Göteborg"],
    },
    SupplierSeed {
        id: "kronhjort",
        name: "Kronhjort Hygien & Skydd AB",
        org_body: "556902-117",
        gs1: 2290,
        email: "order@kronhjort.example",
        phone: "040-628 04 27",
        art_prefix: "KH",
        art_base: 2300,
        address: ["Industrigatan 31", "212 14 Malmö"],
    },
    SupplierSeed {
        id: "fjallsjo",
        name: "Fjällsjö Infusionsteknik AB",
        org_body: "559014-662",
        gs1: 2334,
        email: "bestallning@fjallsjo.example",
        phone: "0980-319 245",
        art_prefix: "FJ",
        art_base: 51000,
        address: ["Fjällvägen 2", "791 70 Falun"],
    },
    SupplierSeed {
        id: "ljungberg",
        name: "Ljungberg & Söner Medicinteknik AB",
        org_body: "556215-480",
        gs1: 2402,
        email: "order@ljungberg-soner.example",
        phone: "08-465 004 77",
        art_prefix: "LS",
        art_base: 30500,
        address: ["Box 6022", "102 31 Stockholm"],
    },
    SupplierSeed {
        id: "solglanta",
        name: "Solglänta Diagnostik AB",
        org_body: "559188-034",
        gs1: 2515,
        email: "order@solglanta.example",
        phone: "031-390 06 58",
        art_prefix: "SD",
        art_base: 8800,
        address: ["Mölndalsvägen 91", "412 63 Göteborg"],
    },
];

// Indices into SUPPLIERS, for the catalog below.
const MEDILUX: usize = 0;
const NORDVARD: usize = 1;
const KRONHJORT: usize = 2;
const FJALLSJO: usize = 3;
const LJUNGBERG: usize = 4;
const SOLGLANTA: usize = 5;

/// The Luhn (modulus 10) check digit of a Swedish organisationsnummer's first nine digits.
pub(crate) fn luhn_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            let p = if i % 2 == 0 { d * 2 } else { d };
            p / 10 + p % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

fn suppliers() -> Vec<SupplierFields> {
    SUPPLIERS
        .iter()
        .map(|s| SupplierFields {
            id: SupplierId::new(s.id),
            name: s.name.to_owned(),
            org_number: Some(format!("{}{}", s.org_body, luhn_check_digit(s.org_body))),
            gln: Some(gtin::with_check_digit(&format!("735{:04}00000", s.gs1))),
            email: Some(s.email.to_owned()),
            phone: Some(s.phone.to_owned()),
            country: Some("SE".to_owned()),
            address: s.address.iter().map(|l| (*l).to_owned()).collect(),
            withdrawn: false,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Care units
// ---------------------------------------------------------------------------------------------

/// What a unit mostly orders.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    Iva,
    Akut,
    Op,
    Ward,
    Barn,
    Forlossning,
    Mottagning,
}

impl UnitKind {
    fn categories(self) -> &'static [&'static str] {
        match self {
            Self::Iva => &[INJ, KAT, ANDN, DIAG, HAND, SKYDD, FORB],
            Self::Akut => &[INJ, FORB, DIAG, HAND, SKYDD, FIX, ANDN],
            Self::Op => &[HAND, OPER, FORB, FIX, SKYDD, INJ],
            Self::Ward => &[FORB, OMV, HYG, KAT, HAND, INJ, FIX],
            Self::Barn => &[INJ, FORB, DIAG, ANDN, HAND, HYG],
            Self::Forlossning => &[HAND, FORB, OMV, INJ, DIAG, HYG, OPER],
            Self::Mottagning => &[DIAG, HAND, FORB, HYG, INJ, FIX],
        }
    }

    /// Children's sizes only go to the units that care for children.
    fn takes_children(self) -> bool {
        matches!(self, Self::Barn | Self::Forlossning | Self::Akut)
    }
}

struct Site {
    name: &'static str,
    /// Goods reception, first line of every delivery address.
    goods: &'static str,
    /// The goods reception's phone (numbers from the series PTS keeps for fiction).
    phone: &'static str,
    street: &'static str,
    postal: &'static str,
}

/// The demo's hospital number `n` (0-based, wrapping): the demo gives node `n + 1` this site.
pub fn site_name(n: usize) -> &'static str {
    SITES[n % SITES.len()].name
}

const SITES: &[Site] = &[
    Site {
        name: "Ekbacka universitetssjukhus",
        phone: "031-390 06 10",
        goods: "Ekbacka universitetssjukhus, Godsmottagning hus 3",
        street: "Lasarettsvägen 1",
        postal: "412 80 Ekbacka",
    },
    Site {
        name: "Norrviks länssjukhus",
        phone: "0980-319 210",
        goods: "Norrviks länssjukhus, Godsmottagning lastkaj B",
        street: "Sjukhusgatan 12",
        postal: "871 85 Norrvik",
    },
    Site {
        name: "Sjöby lasarett",
        phone: "040-628 04 50",
        goods: "Sjöby lasarett, Varumottagning entré C",
        street: "Strandvägen 4",
        postal: "574 38 Sjöby",
    },
];

struct UnitSeed {
    id: &'static str,
    name: &'static str,
    site: usize,
    cost_centre: &'static str,
    /// Where on the site the goods go, e.g. "Avd 12, plan 4".
    floor: &'static str,
    kind: UnitKind,
}

const UNITS: &[UnitSeed] = &[
    UnitSeed {
        id: "ekb-iva",
        name: "Intensivvårdsavdelningen (IVA)",
        site: 0,
        cost_centre: "EK-4110",
        floor: "IVA, hus 2 plan 3",
        kind: UnitKind::Iva,
    },
    UnitSeed {
        id: "ekb-akut",
        name: "Akutmottagningen",
        site: 0,
        cost_centre: "EK-4200",
        floor: "Akuten, hus 1 entréplan",
        kind: UnitKind::Akut,
    },
    UnitSeed {
        id: "ekb-op",
        name: "Centraloperation",
        site: 0,
        cost_centre: "EK-4310",
        floor: "Operation, hus 2 plan 2",
        kind: UnitKind::Op,
    },
    UnitSeed {
        id: "ekb-avd12",
        name: "Avdelning 12 kirurgi",
        site: 0,
        cost_centre: "EK-5112",
        floor: "Avd 12, plan 4",
        kind: UnitKind::Ward,
    },
    UnitSeed {
        id: "ekb-barn31",
        name: "Barnavdelning 31",
        site: 0,
        cost_centre: "EK-6131",
        floor: "Avd 31, Barnens hus plan 1",
        kind: UnitKind::Barn,
    },
    UnitSeed {
        id: "ekb-forl",
        name: "Förlossningen",
        site: 0,
        cost_centre: "EK-6420",
        floor: "Förlossning, hus 5 plan 2",
        kind: UnitKind::Forlossning,
    },
    UnitSeed {
        id: "nvk-akut",
        name: "Akutmottagningen",
        site: 1,
        cost_centre: "NV-2100",
        floor: "Akutmottagningen, ingång A",
        kind: UnitKind::Akut,
    },
    UnitSeed {
        id: "nvk-iva",
        name: "Intensivvårdsavdelningen (IVA)",
        site: 1,
        cost_centre: "NV-2150",
        floor: "IVA, plan 5",
        kind: UnitKind::Iva,
    },
    UnitSeed {
        id: "nvk-dagkir",
        name: "Dagkirurgin",
        site: 1,
        cost_centre: "NV-2330",
        floor: "Dagkirurgi, plan 2",
        kind: UnitKind::Op,
    },
    UnitSeed {
        id: "nvk-avd7",
        name: "Avdelning 7 medicin",
        site: 1,
        cost_centre: "NV-3107",
        floor: "Avd 7, plan 3",
        kind: UnitKind::Ward,
    },
    UnitSeed {
        id: "nvk-geri",
        name: "Geriatriska avdelningen",
        site: 1,
        cost_centre: "NV-3240",
        floor: "Geriatrik, plan 6",
        kind: UnitKind::Ward,
    },
    UnitSeed {
        id: "sjo-narakut",
        name: "Närakuten",
        site: 2,
        cost_centre: "SJ-1010",
        floor: "Närakuten, entréplan",
        kind: UnitKind::Akut,
    },
    UnitSeed {
        id: "sjo-avd3",
        name: "Avdelning 3 ortopedi",
        site: 2,
        cost_centre: "SJ-1303",
        floor: "Avd 3, plan 3",
        kind: UnitKind::Ward,
    },
    UnitSeed {
        id: "sjo-dialys",
        name: "Dialysmottagningen",
        site: 2,
        cost_centre: "SJ-1420",
        floor: "Dialysen, plan 1",
        kind: UnitKind::Mottagning,
    },
    UnitSeed {
        id: "sjo-bmm",
        name: "Barn- och ungdomsmottagningen",
        site: 2,
        cost_centre: "SJ-1550",
        floor: "BUM, plan 2",
        kind: UnitKind::Barn,
    },
];

fn units() -> Vec<UnitFields> {
    UNITS
        .iter()
        .map(|u| {
            let site = &SITES[u.site];
            UnitFields {
                id: UnitId::new(u.id),
                name: u.name.to_owned(),
                site: site.name.to_owned(),
                cost_centre: Some(u.cost_centre.to_owned()),
                delivery_address: vec![
                    site.goods.to_owned(),
                    u.floor.to_owned(),
                    site.street.to_owned(),
                    site.postal.to_owned(),
                ],
                contact_name: Some(format!("Förrådsansvarig, {}", u.name)),
                phone: Some(site.phone.to_owned()),
                withdrawn: false,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Articles
// ---------------------------------------------------------------------------------------------

const HAND: &str = "Handskar";
const FORB: &str = "Förband";
const FIX: &str = "Fixering";
const INJ: &str = "Injektion och infusion";
const KAT: &str = "Katetrar och urologi";
const ANDN: &str = "Andning och sug";
const SKYDD: &str = "Skyddsutrustning";
const HYG: &str = "Hygien";
const OMV: &str = "Inkontinens och omvårdnad";
const DIAG: &str = "Diagnostik";
const OPER: &str = "Operation";

/// A product family: one article per variant, named "{name}, {variant}" (or just the name for
/// an empty variant).
struct Family {
    supplier: usize,
    category: &'static str,
    name: &'static str,
    variants: &'static [&'static str],
    unit: &'static str,
    pack_size: u32,
    /// Price of the first variant, in öre; each further variant costs `step` more.
    price: i64,
    step: i64,
}

#[allow(clippy::too_many_arguments)] // one positional row per product family reads best here
const fn fam(
    supplier: usize,
    category: &'static str,
    name: &'static str,
    variants: &'static [&'static str],
    unit: &'static str,
    pack_size: u32,
    price: i64,
    step: i64,
) -> Family {
    Family { supplier, category, name, variants, unit, pack_size, price, step }
}

const ONE: &[&str] = &[""];
const SML: &[&str] = &["S", "M", "L", "XL"];
const GLOVE_SIZES: &[&str] = &["stl 6,0", "stl 6,5", "stl 7,0", "stl 7,5", "stl 8,0", "stl 8,5"];
const SYRINGES: &[&str] = &["1 ml", "2 ml", "5 ml", "10 ml", "20 ml", "50 ml"];
const NEEDLES: &[&str] = &[
    "18G 1,2x40 mm rosa",
    "19G 1,1x40 mm krämvit",
    "20G 0,9x40 mm gul",
    "21G 0,8x40 mm grön",
    "22G 0,7x30 mm svart",
    "23G 0,6x25 mm blå",
    "25G 0,5x25 mm orange",
    "26G 0,45x12 mm brun",
    "27G 0,4x20 mm grå",
];
const PVK_SIZES: &[&str] = &["14G orange", "16G grå", "17G vit", "18G grön", "20G rosa", "22G blå", "24G gul"];
const PAD_SIZES: &[&str] = &["5x7,2 cm", "9x10 cm", "9x15 cm", "9x20 cm", "9x25 cm", "9x30 cm", "9x35 cm"];
const TUBES: &[&str] = &[
    "EDTA 3 ml, lila",
    "EDTA 4 ml, lila",
    "citrat 2,7 ml, ljusblå",
    "litiumheparin 4 ml, grön",
    "serum med gel 5 ml, gul",
    "fluorid 2 ml, grå",
];
const GIVING_SETS: &[&str] =
    &["gravitation 150 cm", "med luftfilter", "för infusionspump", "ljusskyddat", "för blod 200 µm"];
const CANNULAS: &[&str] = &["vuxen, slang 2,1 m", "vuxen, slang 7,6 m", "barn, slang 2,1 m", "neonatal, slang 2,1 m"];
const FOAM_SIZES: &[&str] = &["7,5x7,5 cm", "10x10 cm", "12,5x12,5 cm", "15x15 cm", "20x20 cm"];
const CUFFS: &[&str] = &["barn", "liten vuxen", "vuxen", "stor vuxen", "lår"];
const CH_10_18: &[&str] = &["Ch 10", "Ch 12", "Ch 14", "Ch 16", "Ch 18"];
const SAFETY_NEEDLES: &[&str] = &["18G rosa", "20G gul", "21G grön", "22G svart", "23G blå", "25G orange"];
const SCALPELS: &[&str] = &["nr 10", "nr 11", "nr 15", "nr 20", "nr 22", "nr 23"];
const COMPRESSES: &[&str] = &["5x5 cm", "7,5x7,5 cm", "10x10 cm"];
const FILM_SIZES: &[&str] = &["6x7 cm", "10x12 cm", "10x25 cm", "15x20 cm"];
const TAPE_WIDTHS: &[&str] = &["1,25 cm", "2,5 cm", "5 cm", "10 cm"];
const ECG: &[&str] = &["vuxen, skum", "vuxen, vila med flik", "barn", "neonatal"];
const URIDOMS: &[&str] = &["25 mm", "29 mm", "32 mm", "36 mm", "41 mm"];

// One family a line reads best as a table.
#[rustfmt::skip]
const FAMILIES: &[Family] = &[
    // Handskar
    fam(MEDILUX, HAND, "Undersökningshandske nitril, opudrad, blå", &["XS", "S", "M", "L", "XL"], "BX", 100, 6450, 0),
    fam(MEDILUX, HAND, "Undersökningshandske nitril, lång manschett", SML, "BX", 100, 8900, 0),
    fam(KRONHJORT, HAND, "Undersökningshandske vinyl, opudrad", SML, "BX", 100, 4200, 0),
    fam(LJUNGBERG, HAND, "Operationshandske steril, syntetisk, latexfri", GLOVE_SIZES, "BX", 50, 61500, 0),
    fam(LJUNGBERG, HAND, "Operationshandske steril, latex, puderfri", GLOVE_SIZES, "PR", 1, 980, 0),
    fam(LJUNGBERG, HAND, "Underhandske steril för dubbelhandskning, grön", GLOVE_SIZES, "BX", 50, 64000, 0),
    // Förband
    fam(MEDILUX, FORB, "Kompress gasväv steril 8-lags", COMPRESSES, "PK", 25, 1850, 450),
    fam(MEDILUX, FORB, "Kompress gasväv osteril 8-lags", COMPRESSES, "PK", 100, 2400, 600),
    fam(MEDILUX, FORB, "Kompress nonwoven steril 4-lags", COMPRESSES, "PK", 25, 1500, 350),
    fam(MEDILUX, FORB, "Kompress nonwoven osteril 4-lags", COMPRESSES, "PK", 100, 1900, 500),
    fam(MEDILUX, FORB, "Skumförband med silikonhäfta", FOAM_SIZES, "BX", 10, 21900, 6500),
    fam(MEDILUX, FORB, "Skumförband utan häfta", &["5x5 cm", "10x10 cm", "15x15 cm", "20x20 cm"], "BX", 10, 9800, 5200),
    fam(MEDILUX, FORB, "Skumförband sakrum med silikonhäfta", &["16x20 cm", "22x25 cm"], "BX", 5, 24500, 9000),
    fam(MEDILUX, FORB, "Skumförband häl", &["17x21 cm"], "BX", 5, 27900, 0),
    fam(NORDVARD, FORB, "Filmförband transparent", FILM_SIZES, "BX", 50, 12500, 8000),
    fam(NORDVARD, FORB, "Filmförband för PVK med slits", &["7x8,5 cm", "9x10 cm"], "BX", 100, 18900, 2500),
    fam(MEDILUX, FORB, "Förband med absorberande kudde", PAD_SIZES, "BX", 50, 6900, 2100),
    fam(MEDILUX, FORB, "Alginatförband", &["5x5 cm", "10x10 cm"], "BX", 10, 18500, 14000),
    fam(MEDILUX, FORB, "Hydrokolloidförband", &["10x10 cm", "15x15 cm", "20x20 cm"], "BX", 10, 21000, 12000),
    fam(MEDILUX, FORB, "Silverförband skum", &["10x10 cm", "15x15 cm"], "BX", 10, 49500, 31000),
    fam(MEDILUX, FORB, "Salvkompress", &["10x10 cm"], "BX", 10, 7400, 0),
    fam(MEDILUX, FORB, "Elastisk binda 5 m", &["6 cm", "8 cm", "10 cm", "12 cm"], "PK", 10, 8800, 1400),
    fam(MEDILUX, FORB, "Sårtvätt natriumklorid 9 mg/ml", &["spray 100 ml", "flaska 250 ml", "flaska 500 ml"], "BO", 1, 3900, 1100),
    fam(MEDILUX, FORB, "Sårkompress steril 20x40 cm", ONE, "PK", 5, 9500, 0),
    // Fixering
    fam(LJUNGBERG, FIX, "Häfta silikon, skonsam, 5 m", &["2,5 cm", "5 cm"], "RO", 1, 8900, 6000),
    fam(LJUNGBERG, FIX, "Häfta ventilerad nonwoven, 9,1 m", TAPE_WIDTHS, "BX", 12, 6900, 5500),
    fam(LJUNGBERG, FIX, "Fixeringsväv elastisk, 10 m", &["5 cm", "10 cm", "15 cm", "20 cm"], "RO", 1, 5400, 3300),
    fam(LJUNGBERG, FIX, "Tejp transparent, 9,1 m", &["1,25 cm", "2,5 cm"], "BX", 24, 9600, 7200),
    fam(LJUNGBERG, FIX, "Tubgas", &["storlek 1", "storlek 2", "storlek 3"], "RO", 1, 11500, 2500),
    // Injektion och infusion
    fam(NORDVARD, INJ, "Spruta Luer Lock, 3-delad", SYRINGES, "BX", 100, 5900, 2400),
    fam(NORDVARD, INJ, "Spruta Luer slip, 2-delad", SYRINGES, "BX", 100, 4300, 1900),
    fam(NORDVARD, INJ, "Insulinspruta med fast kanyl", &["0,3 ml 30G", "0,5 ml 30G", "1 ml 29G"], "BX", 100, 14500, 500),
    fam(NORDVARD, INJ, "Enteral spruta ENFit", &["5 ml", "10 ml", "20 ml", "60 ml"], "BX", 50, 11900, 2600),
    fam(NORDVARD, INJ, "Kanyl", NEEDLES, "BX", 100, 3900, 100),
    fam(NORDVARD, INJ, "Säkerhetskanyl", SAFETY_NEEDLES, "BX", 100, 18900, 300),
    fam(FJALLSJO, INJ, "Perifer venkateter med injektionsport", PVK_SIZES, "BX", 50, 42500, 0),
    fam(FJALLSJO, INJ, "Perifer venkateter utan port, säkerhet", PVK_SIZES, "BX", 50, 46900, 0),
    fam(FJALLSJO, INJ, "Infusionsaggregat", GIVING_SETS, "CT", 100, 89000, 14000),
    fam(FJALLSJO, INJ, "Natriumklorid 9 mg/ml infusionsvätska, påse", &["100 ml", "250 ml", "500 ml", "1000 ml"], "EA", 1, 1450, 350),
    fam(FJALLSJO, INJ, "Ringer-acetat infusionsvätska, påse", &["500 ml", "1000 ml"], "EA", 1, 2350, 800),
    fam(FJALLSJO, INJ, "Glukos 50 mg/ml infusionsvätska, påse", &["250 ml", "500 ml", "1000 ml"], "EA", 1, 1900, 550),
    fam(FJALLSJO, INJ, "Spolspruta förfylld natriumklorid 9 mg/ml", &["3 ml", "5 ml", "10 ml"], "BX", 30, 17400, 1600),
    fam(FJALLSJO, INJ, "Förlängningsslang med Luer Lock", &["10 cm", "25 cm", "50 cm", "150 cm"], "BX", 50, 21500, 3500),
    fam(FJALLSJO, INJ, "Trevägskran", &["utan slang", "med förlängning 10 cm"], "BX", 50, 16900, 9500),
    fam(FJALLSJO, INJ, "Nålfri kopplingsventil", ONE, "BX", 100, 79000, 0),
    fam(FJALLSJO, INJ, "Kombipropp Luer Lock", ONE, "BX", 100, 6900, 0),
    // Katetrar och urologi
    fam(NORDVARD, KAT, "Urinkateter Nelaton, engångs", CH_10_18, "BX", 30, 24000, 0),
    fam(NORDVARD, KAT, "Kvarkateter silikon 2-vägs", CH_10_18, "BX", 10, 52000, 0),
    fam(NORDVARD, KAT, "Kvarkateter latex silikonbelagd 2-vägs", &["Ch 12", "Ch 14", "Ch 16", "Ch 18"], "BX", 10, 21500, 0),
    fam(NORDVARD, KAT, "Kvarkateter Tiemann 2-vägs", &["Ch 12", "Ch 14", "Ch 16"], "BX", 10, 58500, 0),
    fam(NORDVARD, KAT, "Uridom självhäftande", URIDOMS, "BX", 30, 41500, 0),
    fam(NORDVARD, KAT, "Urinpåse", &["2 l med tömningskran", "benpåse 750 ml", "timdiures 500 ml"], "BX", 10, 9900, 6000),
    // Andning och sug
    fam(LJUNGBERG, ANDN, "Sugkateter rak", &["Ch 6", "Ch 8", "Ch 10", "Ch 12", "Ch 14", "Ch 16"], "BX", 100, 16500, 0),
    fam(LJUNGBERG, ANDN, "Sugkateter med fingerkontroll", &["Ch 10", "Ch 12", "Ch 14"], "BX", 100, 21900, 0),
    fam(LJUNGBERG, ANDN, "Sugspets Yankauer med slang 2 m", ONE, "BX", 50, 34500, 0),
    fam(FJALLSJO, ANDN, "Syrgasgrimma", CANNULAS, "BX", 50, 27500, 1500),
    fam(FJALLSJO, ANDN, "Syrgasmask med reservoar", &["vuxen", "barn"], "BX", 50, 59000, 0),
    fam(FJALLSJO, ANDN, "Syrgasmask enkel", &["vuxen", "barn"], "BX", 50, 31500, 0),
    fam(FJALLSJO, ANDN, "Näsgrimma för högflödesbehandling", &["S", "M", "L"], "BX", 20, 129000, 0),
    fam(FJALLSJO, ANDN, "Nebulisatorset med munstycke", ONE, "BX", 50, 42000, 0),
    // Skyddsutrustning
    fam(KRONHJORT, SKYDD, "Munskydd typ IIR", &["med öronband", "med knytband", "med visir"], "BX", 50, 5900, 2200),
    fam(KRONHJORT, SKYDD, "Andningsskydd FFP2", &["utan ventil", "med ventil"], "BX", 20, 9900, 2000),
    fam(KRONHJORT, SKYDD, "Andningsskydd FFP3", &["utan ventil", "med ventil"], "BX", 20, 18500, 2500),
    fam(KRONHJORT, SKYDD, "Skyddsrock engångs, lång ärm", &["M", "L", "XL"], "PK", 10, 8900, 0),
    fam(KRONHJORT, SKYDD, "Skyddsrock vätskeavvisande", &["M", "L", "XL"], "PK", 10, 16500, 0),
    fam(KRONHJORT, SKYDD, "Plastförkläde vitt, på rulle", ONE, "RO", 200, 9500, 0),
    fam(KRONHJORT, SKYDD, "Plastförkläde med ärm, blått", ONE, "PK", 50, 27500, 0),
    fam(KRONHJORT, SKYDD, "Visir engångs", ONE, "BX", 25, 11900, 0),
    fam(KRONHJORT, SKYDD, "Skyddsglasögon klara", ONE, "EA", 1, 3900, 0),
    fam(KRONHJORT, SKYDD, "Hårskydd bouffant", ONE, "PK", 100, 3400, 0),
    fam(KRONHJORT, SKYDD, "Skoskydd halkskyddat", ONE, "PK", 100, 7900, 0),
    // Hygien
    fam(KRONHJORT, HYG, "Handdesinfektion 85 %", &["150 ml", "500 ml", "1 l"], "BO", 1, 2900, 2600),
    fam(KRONHJORT, HYG, "Handdesinfektion gel 85 %", &["500 ml", "1 l"], "BO", 1, 5900, 3300),
    fam(KRONHJORT, HYG, "Tvål oparfymerad", &["500 ml", "1 l"], "BO", 1, 3100, 1800),
    fam(KRONHJORT, HYG, "Handkräm oparfymerad 100 ml", ONE, "TU", 1, 2700, 0),
    fam(KRONHJORT, HYG, "Ytdesinfektion med tensid", &["sprayflaska 750 ml", "dunk 5 l"], "BO", 1, 6500, 22000),
    fam(KRONHJORT, HYG, "Desinfektionsservetter", ONE, "PK", 100, 8900, 0),
    fam(KRONHJORT, HYG, "Tvättlappar engångs", ONE, "PK", 50, 2900, 0),
    fam(KRONHJORT, HYG, "Tvättvantar med tvål, för torrtvätt", ONE, "PK", 8, 4400, 0),
    // Inkontinens och omvårdnad
    fam(KRONHJORT, OMV, "Inkontinensskydd inlägg", &["normal", "extra", "super"], "PK", 28, 9900, 1500),
    fam(KRONHJORT, OMV, "Inkontinensskydd byxskydd", SML, "PK", 14, 12900, 0),
    fam(KRONHJORT, OMV, "Inkontinensskydd tejpskydd", &["M", "L"], "PK", 20, 16500, 0),
    fam(KRONHJORT, OMV, "Underlägg absorberande", &["60x60 cm", "60x90 cm"], "PK", 30, 8900, 2900),
    fam(KRONHJORT, OMV, "Bäckenskydd engångs", ONE, "PK", 100, 18500, 0),
    fam(KRONHJORT, OMV, "Bäcken engångs, pappmassa", ONE, "CT", 100, 39500, 0),
    fam(KRONHJORT, OMV, "Urinflaska engångs, pappmassa", ONE, "CT", 100, 34500, 0),
    // Diagnostik
    fam(SOLGLANTA, DIAG, "EKG-elektrod", ECG, "PK", 50, 4900, 800),
    fam(SOLGLANTA, DIAG, "Blodtrycksmanschett engångs", CUFFS, "BX", 20, 21500, 2500),
    fam(SOLGLANTA, DIAG, "Termometerskydd", &["för örontermometer", "för digital termometer"], "BX", 200, 12900, -4000),
    fam(SOLGLANTA, DIAG, "Stasband", &["engångs, latexfritt", "med spänne"], "PK", 25, 6900, 3500),
    fam(SOLGLANTA, DIAG, "Provrör vakuum", TUBES, "BX", 100, 18900, 400),
    fam(SOLGLANTA, DIAG, "Blodprovstagningsnål", &["21G grön", "22G svart"], "BX", 100, 16900, 0),
    fam(SOLGLANTA, DIAG, "Blodprovsset med vinge och slang", &["21G grön", "23G blå"], "BX", 50, 29500, 0),
    fam(SOLGLANTA, DIAG, "Lansett säkerhet", &["1,8 mm", "2,4 mm"], "BX", 200, 31500, 0),
    fam(SOLGLANTA, DIAG, "Urinprovsrör med etikett", ONE, "PK", 100, 9900, 0),
    fam(SOLGLANTA, DIAG, "Pulsoximetersensor engångs", &["vuxen", "barn", "neonatal"], "BX", 24, 149000, 0),
    fam(SOLGLANTA, DIAG, "Glukosteststickor", ONE, "PK", 50, 24900, 0),
    fam(SOLGLANTA, DIAG, "Tungspatel trä", ONE, "PK", 100, 2900, 0),
    // Operation
    fam(LJUNGBERG, OPER, "Skalpell engångs steril", SCALPELS, "BX", 10, 14900, 0),
    fam(LJUNGBERG, OPER, "Operationsrock steril, förstärkt", &["M", "L", "XL", "XXL"], "CT", 28, 189000, 6000),
    fam(LJUNGBERG, OPER, "Operationsduk steril med häfta", &["50x50 cm", "75x90 cm", "150x240 cm"], "CT", 40, 39000, 31000),
    fam(LJUNGBERG, OPER, "Suturset engångs steril", ONE, "SET", 1, 6900, 0),
    fam(LJUNGBERG, OPER, "Neutralelektrod för diatermi, vuxen", ONE, "BX", 50, 79000, 0),
    fam(LJUNGBERG, OPER, "Hudmarkeringspenna steril med linjal", ONE, "BX", 50, 42500, 0),
    fam(LJUNGBERG, OPER, "Operationsmössa knytbar", ONE, "PK", 100, 12900, 0),
];

/// (family name, variant) of the articles that are withdrawn from the catalog.
const WITHDRAWN: &[(&str, &str)] = &[
    ("Undersökningshandske vinyl, opudrad", "XL"),
    ("Kvarkateter latex silikonbelagd 2-vägs", "Ch 12"),
    ("Andningsskydd FFP2", "med ventil"),
];

fn articles() -> Vec<ArticleFields> {
    let mut out = Vec::new();
    for (f_no, f) in FAMILIES.iter().enumerate() {
        let sup = &SUPPLIERS[f.supplier];
        for (v_no, variant) in f.variants.iter().enumerate() {
            // Family and variant numbers make the supplier's article number and GTIN unique.
            let item = u32::try_from(f_no * 20 + v_no).unwrap_or(u32::MAX);
            let name = if variant.is_empty() { f.name.to_owned() } else { format!("{}, {variant}", f.name) };
            let step = i64::try_from(v_no).unwrap_or(0) * f.step;
            out.push(ArticleFields {
                id: ArticleId::new(format!("art-{:05}", out.len() + 1)),
                article_number: format!("{}-{}", sup.art_prefix, sup.art_base + item),
                gtin: Some(gtin::with_check_digit(&format!("735{:04}{:05}", sup.gs1, item + 1))),
                name,
                unit: f.unit.to_owned(),
                pack_size: f.pack_size,
                supplier_id: SupplierId::new(sup.id),
                category: f.category.to_owned(),
                price_cents: Some(f.price + step),
                withdrawn: WITHDRAWN.contains(&(f.name, *variant)),
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

/// A tiny linear congruential generator (Knuth's MMIX constants) with a fixed seed: the demo
/// orders look varied but are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A number in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Where a demo order ends up, and by which path.
#[derive(Clone, Copy)]
enum Plan {
    Draft,
    /// Created with `submit: true`.
    Submitted,
    /// Created as a draft, then submitted.
    SubmittedLater,
    Approved,
    Rejected,
    Sent,
    Confirmed,
    Partial,
    Delivered,
    /// Delivered in two receipts.
    DeliveredInTwo,
    /// Received straight after sending, without an order confirmation.
    DeliveredUnconfirmed,
    CancelledDraft,
    CancelledApproved,
    CancelledSent,
}

const PLANS: &[Plan] = &[
    Plan::Delivered,
    Plan::Submitted,
    Plan::Confirmed,
    Plan::Partial,
    Plan::Draft,
    Plan::Approved,
    Plan::DeliveredInTwo,
    Plan::Sent,
    Plan::Rejected,
    Plan::CancelledApproved,
    Plan::Delivered,
    Plan::SubmittedLater,
    Plan::Partial,
    Plan::DeliveredUnconfirmed,
    Plan::Draft,
    Plan::Approved,
    Plan::Sent,
    Plan::Confirmed,
    Plan::Rejected,
    Plan::CancelledDraft,
    Plan::Delivered,
    Plan::CancelledSent,
];

const ORDER_COUNT: usize = 40;

const NEEDED_BY: &[Date] = &[
    date!(2026 - 11 - 27),
    date!(2026 - 12 - 01),
    date!(2026 - 12 - 03),
    date!(2026 - 12 - 07),
    date!(2026 - 12 - 10),
    date!(2026 - 12 - 14),
    date!(2027 - 01 - 08),
];

const NOTES: &[Option<&str>] = &[
    None,
    Some("Leverans till godsmottagningen före kl. 10."),
    None,
    Some("Ersätter restnoterad beställning från förra veckan."),
    Some("Påfyllnad inför helgen."),
    None,
    Some("Kontakta avdelningen vid restnotering, tfn 08-465 004 50."),
    Some("Samleverans med övriga beställningar från huset."),
    None,
    Some("Inför inventering i december."),
];

const URGENT_NOTES: &[&str] = &[
    "Brådskande – förrådet är nästan tomt.",
    "Akut behov efter ökat antal inläggningar.",
    "Brådskande, lagret räcker till i morgon.",
];

const LINE_NOTES: &[&str] = &[
    "Endast latexfritt.",
    "Gärna samma lot som förra leveransen.",
    "Till akutvagnen.",
    "Packas separat, märks med avdelningens namn.",
];

const REJECT_REASONS: &[&str] = &[
    "Budgeten för kvartalet är förbrukad, beställ igen i januari.",
    "Fel kostnadsställe – beställ om via avdelningens eget konto.",
    "Dubbelbeställning, samma artiklar finns på en tidigare order.",
];

const CANCEL_REASONS: &[&str] = &[
    "Beställd av misstag.",
    "Artikeln ersätts av en annan produkt enligt nytt avtal.",
    "Behovet täcktes genom lån från grannavdelningen.",
];

fn orders(articles: &[ArticleFields]) -> Vec<DemoOrder> {
    let mut rng = Lcg(0x6265_7265_6464_2026); // "beredd", 2026
    let mut out = Vec::with_capacity(ORDER_COUNT);
    for n in 0..ORDER_COUNT {
        // 7 is coprime to the number of units, so every unit gets orders.
        let unit = &UNITS[(n * 7 + 3) % UNITS.len()];
        let plan = PLANS[n % PLANS.len()];
        let orderable: Vec<&ArticleFields> = articles
            .iter()
            .filter(|a| !a.withdrawn && unit.kind.categories().contains(&a.category.as_str()))
            .filter(|a| unit.kind.takes_children() || !is_for_children(&a.name))
            .collect();

        let wanted = 1 + rng.below(8);
        let mut lines: Vec<LineFields> = Vec::new();
        while lines.len() < wanted.min(orderable.len()) {
            let a = *rng.pick(&orderable);
            if lines.iter().any(|l| l.article_id == a.id) {
                continue;
            }
            let quantity = quantity(a, &mut rng);
            let note = (rng.below(9) == 0).then(|| rng.pick(LINE_NOTES).to_string());
            lines.push(LineFields { article_id: a.id.clone(), quantity, note });
        }
        if matches!(plan, Plan::Partial | Plan::DeliveredInTwo) {
            // A split delivery needs something to split.
            if let Some(last) = lines.last_mut() {
                last.quantity = last.quantity.max(2);
            }
        }

        let urgent = n % 6 == 1 || n % 11 == 4;
        let note = if urgent { Some(rng.pick(URGENT_NOTES).to_string()) } else { rng.pick(NOTES).map(str::to_owned) };
        let needed_by = (urgent || n % 3 == 0).then(|| *rng.pick(NEEDED_BY));
        let (submit, actions) = plan_actions(plan, &lines, &mut rng);
        let fields = OrderFields {
            id: OrderId::new(format!("demo-ord-{:04}", n + 1)),
            unit_id: UnitId::new(unit.id),
            lines,
            note,
            needed_by,
            urgent,
            submit,
            exercise: None,
            drill: false,
        };
        out.push(DemoOrder { fields, actions });
    }
    out
}

fn is_for_children(name: &str) -> bool {
    name.contains("barn") || name.contains("neonatal")
}

/// A sensible number of the article's units: a few boxes, or more of single items.
fn quantity(a: &ArticleFields, rng: &mut Lcg) -> u32 {
    match a.pack_size {
        1 => *rng.pick(&[4, 5, 6, 10, 10, 12, 20, 24, 30, 40]),
        2..=30 => *rng.pick(&[1, 2, 2, 3, 4, 5, 6, 8, 10]),
        _ => *rng.pick(&[1, 1, 2, 2, 3, 4, 5, 6, 10]),
    }
}

/// Whether the order is created submitted, and the actions after that.
fn plan_actions(plan: Plan, lines: &[LineFields], rng: &mut Lcg) -> (bool, Vec<OrderAction>) {
    use OrderAction::{Approve, Confirm, Send, Submit};
    let all = receipt(lines, |q| q);
    match plan {
        Plan::Draft => (false, vec![]),
        Plan::Submitted => (true, vec![]),
        Plan::SubmittedLater => (false, vec![Submit]),
        Plan::Approved => (true, vec![Approve]),
        Plan::Rejected => {
            let reason = rng.pick(REJECT_REASONS).to_string();
            (true, vec![OrderAction::Reject { reason }])
        }
        Plan::Sent => (true, vec![Approve, Send]),
        Plan::Confirmed => (true, vec![Approve, Send, Confirm]),
        Plan::Partial => {
            // Everything but half of the last line, which is back-ordered (restnoterad).
            let last = lines.len();
            let part = lines
                .iter()
                .enumerate()
                .map(|(i, l)| if i + 1 == last { l.quantity / 2 } else { l.quantity })
                .collect::<Vec<_>>();
            (true, vec![Approve, Send, Confirm, receipt_of(&part)])
        }
        Plan::Delivered => (true, vec![Approve, Send, Confirm, all]),
        Plan::DeliveredInTwo => {
            let first = receipt(lines, |q| q / 2);
            let rest = receipt(lines, |q| q - q / 2);
            (true, vec![Approve, Send, Confirm, first, rest])
        }
        Plan::DeliveredUnconfirmed => (false, vec![Submit, Approve, Send, all]),
        Plan::CancelledDraft => (false, vec![cancel(rng)]),
        Plan::CancelledApproved => (true, vec![Approve, cancel(rng)]),
        Plan::CancelledSent => (true, vec![Approve, Send, cancel(rng)]),
    }
}

fn cancel(rng: &mut Lcg) -> OrderAction {
    OrderAction::Cancel { reason: rng.pick(CANCEL_REASONS).to_string() }
}

/// A receipt of `f(quantity)` of every line, leaving out lines with nothing received.
fn receipt(lines: &[LineFields], f: impl Fn(u32) -> u32) -> OrderAction {
    receipt_of(&lines.iter().map(|l| f(l.quantity)).collect::<Vec<_>>())
}

/// A receipt of `quantities[i]` of line `i + 1`, leaving out zeros.
fn receipt_of(quantities: &[u32]) -> OrderAction {
    let lines = quantities
        .iter()
        .zip(1u32..)
        .filter(|(q, _)| **q > 0)
        .map(|(q, line_no)| Received { line_no, quantity: *q })
        .collect();
    OrderAction::Receive { lines }
}

#[cfg(test)]
mod tests;
