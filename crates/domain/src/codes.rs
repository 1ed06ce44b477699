//! `codes!`: an enum whose variants each have a stable snake_case code, used in the API, in
//! forms, in translations and in files (`as_str`, `parse`, `ALL`).

macro_rules! codes {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $v:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $v),+ }

        impl $name {
            pub const ALL: &[$name] = &[$(Self::$v),+];
            /// The stable code (API, forms, translations).
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $code),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }
    };
}

pub(crate) use codes;
