//! The company registry (phone book) answer.

use serde::{Deserialize, Serialize};

use crate::common::null_as_default;

/// The filters echoed in a phone book answer (NxtPort `SearchEntityFilter`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SearchEntityFilter {
    /// EORI.
    pub eori: Option<String>,
    /// DUNS.
    pub duns: Option<String>,
    /// VAT.
    pub vat: Option<String>,
    /// NxtEntityId.
    pub nxt_entity_id: Option<String>,
    /// Name filter.
    pub entity_name: Option<String>,
    /// APCS code.
    pub apcs_code: Option<String>,
    /// Page.
    pub page: Option<u32>,
    /// Page size.
    pub page_size: Option<u32>,
}

/// An address of a company (NxtPort `EntityAddressDto`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EntityAddress {
    /// Address type code.
    pub address_type_code: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Contact name.
    pub contact_name: Option<String>,
    /// Contact e-mail.
    pub contact_email: Option<String>,
}

/// A company in the registry (NxtPort `PhoneBookItem`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PhoneBookItem {
    /// APCS code.
    pub apcs_code: Option<String>,
    /// Addresses.
    #[serde(default, deserialize_with = "null_as_default")]
    pub addresses: Vec<EntityAddress>,
    /// NxtEntityId.
    pub nxt_entity_id: String,
    /// Company name.
    pub name: String,
    /// VAT.
    pub vat: Option<String>,
    /// DUNS.
    pub duns: Option<String>,
    /// EORI.
    pub eori: Option<String>,
    /// SCAC.
    pub scac: Option<String>,
    /// APCS.
    pub apcs: Option<String>,
}

/// 200 answer of the company registry (NxtPort `PhoneBookResponse`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PhoneBookResponse {
    /// The filters applied.
    #[serde(default)]
    pub search_filter: SearchEntityFilter,
    /// This page's companies.
    #[serde(default, deserialize_with = "null_as_default")]
    pub phone_book_items: Vec<PhoneBookItem>,
    /// Matches over all pages.
    #[serde(default)]
    pub total_rows: u32,
    /// Number of pages.
    #[serde(default)]
    pub total_pages: u32,
    /// Reference of this call.
    pub public_reference_id: Option<String>,
    /// Echo of `External-Reference-Id`.
    pub external_reference_id: Option<String>,
}
