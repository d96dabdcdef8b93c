//! The company registry (`entities`).

use super::*;

/// Search the company registry (filters ANDed; at least one).
#[utoipa::path(get, path = "/certified-pickup/v1/entities", tag = "CPu generic",
    params(EntitySearchQuery),
    responses((status = 200, body = PhoneBookResponse), (status = 400, body = ProblemDetails), (status = 401, body = ProblemDetails), (status = 405, body = ProblemDetails)))]
pub async fn entities(req: HttpRequest, state: web::Data<SimState>) -> Result<HttpResponse> {
    let call = authenticate(&req, &state, true).await?;
    let q: EntitySearchQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::field("query", e.to_string()))?;
    let filter = sim::RegistryFilter {
        eori: q.eori.clone(),
        duns: q.duns.clone(),
        vat: q.vat.clone(),
        nxt_entity_id: q.nxt_entity_id.clone(),
        entity_name: q.entity_name.clone(),
        apcs_code: q.apcs_code.clone(),
    };
    if filter.is_empty() {
        return Err(ApiError::field(
            "query",
            "at least one of EORI, DUNS, VAT, NxtEntityId, entityName or apcsCode is required",
        ));
    }
    let page = q.page.unwrap_or(1);
    let page_size = q.page_size.unwrap_or(25);
    if page == 0 {
        return Err(ApiError::field("page", "must be 1 or more"));
    }
    if !(1..=1000).contains(&page_size) {
        return Err(ApiError::field("pageSize", "must be between 1 and 1000"));
    }
    let world = call.world.read();
    let (items, total) = world.registry_search(&filter, page as usize, page_size as usize);
    let items: Vec<PhoneBookItem> = items
        .into_iter()
        .map(|p| PhoneBookItem {
            apcs_code: p.apcs_code.clone(),
            addresses: p
                .addresses
                .iter()
                .map(|a| EntityAddress {
                    address_type_code: a.address_type_code.clone(),
                    street: a.street.clone(),
                    postal_code: a.postal_code.clone(),
                    city: a.city.clone(),
                    country: a.country.clone(),
                    contact_name: None,
                    contact_email: None,
                })
                .collect(),
            nxt_entity_id: p.nxt_entity_id.as_str().to_owned(),
            name: p.name.clone(),
            vat: p.vat.clone(),
            duns: p.duns.clone(),
            eori: p.eori.clone(),
            scac: p.scac.clone(),
            apcs: p.apcs_code.clone(),
        })
        .collect();
    drop(world);
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    Ok(ok_json(
        &call,
        &PhoneBookResponse {
            search_filter: SearchEntityFilter {
                eori: q.eori,
                duns: q.duns,
                vat: q.vat,
                nxt_entity_id: q.nxt_entity_id,
                entity_name: q.entity_name,
                apcs_code: q.apcs_code,
                page: Some(page),
                page_size: Some(page_size),
            },
            phone_book_items: items,
            total_rows: total,
            total_pages: total.div_ceil(page_size),
            public_reference_id: Some(uuid::Uuid::new_v4().to_string()),
            external_reference_id: call.external_reference_id.clone(),
        },
    ))
}
