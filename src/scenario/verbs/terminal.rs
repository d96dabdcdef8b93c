//! Terminal verbs: terminal releases, ingestions (discharge, gate in, gate out, ...) and the
//! pickup validations a terminal asks at the gate.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{now_iso, HttpCall, VResult, VerbContext};
use crate::scenario::model::{
    AlfapassValidationArgs, BargeRailValidationArgs, Ingestion, IngestionArgs,
    OwnershipValidationArgs, TerminalReleaseArgs, TruckValidationArgs,
};
use cpu_contract::paths;

pub(super) fn terminal_release(
    a: &TerminalReleaseArgs,
    ctx: &VerbContext<'_>,
) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let equipment = ctx.r(&a.equipment)?;
    let mut body = Map::new();
    body.insert("equipmentNumber".into(), json!(equipment));
    body.insert("portLoCode".into(), json!(locode));
    body.insert(
        "terminalCode".into(),
        json!(ctx.terminal_code(a.terminal.as_ref())?),
    );
    body.insert(
        "actionType".into(),
        json!(ctx
            .ro(a.action.as_ref())?
            .unwrap_or_else(|| "Release".to_owned())),
    );
    body.insert(
        "releaseDateTimeUtc".into(),
        json!(ctx
            .ro(a.release_date_time_utc.as_ref())?
            .unwrap_or_else(now_iso)),
    );
    if let Some(stay) = ctx.ro(a.stay_number.as_ref())? {
        body.insert("stayNumber".into(), json!(stay));
    }
    Ok(HttpCall::new(
        Method::PUT,
        paths::terminal_release(&locode, &equipment),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

pub(super) fn ingestion(
    kind: Ingestion,
    a: &IngestionArgs,
    ctx: &VerbContext<'_>,
) -> VResult<HttpCall> {
    let ingestion_id = match ctx.ro(a.ingestion_id.as_ref())? {
        Some(id) => id,
        None => ctx.acting_field("ingestionId").ok_or_else(|| {
            format!(
                "party `{}` has no ingestionId: act as a terminal (`as: psa`) or give `ingestionId:`",
                ctx.acting.unwrap_or("?")
            )
        })?,
    };
    let mut body = Map::new();
    body.insert("portLoCode".into(), json!(ctx.locode(a.locode.as_ref())?));
    body.insert("equipmentNumber".into(), json!(ctx.r(&a.equipment)?));
    let status = match (kind, ctx.ro(a.equipment_status.as_ref())?) {
        (_, Some(s)) => Some(s),
        (Ingestion::Discharge, None) => Some("import".to_owned()),
        _ => None,
    };
    if let Some(status) = status {
        body.insert("equipmentStatus".into(), json!(status));
    }
    if let Some(bls) = &a.bill_of_lading_numbers {
        let bls: Vec<String> = bls.iter().map(|b| ctx.r(b)).collect::<VResult<_>>()?;
        body.insert("billOfLadingNumbers".into(), json!(bls));
    }
    body.insert(
        "timestamp".into(),
        json!(ctx.ro(a.timestamp.as_ref())?.unwrap_or_else(now_iso)),
    );
    body.insert(
        "terminalCode".into(),
        json!(ctx.terminal_code(a.terminal.as_ref())?),
    );
    if let Some(stay) = ctx.ro(a.stay_number.as_ref())? {
        body.insert("stayNumber".into(), json!(stay));
    }
    body.insert("operationType".into(), json!(kind.operation_type()));
    if kind == Ingestion::Discharge {
        body.insert(
            "fullEmptyIndicator".into(),
            json!(ctx
                .ro(a.full_empty_indicator.as_ref())?
                .unwrap_or_else(|| "full".to_owned())),
        );
    } else if let Some(fe) = ctx.ro(a.full_empty_indicator.as_ref())? {
        body.insert("fullEmptyIndicator".into(), json!(fe));
    }
    if let Some(mode) = &a.mode_of_transport {
        body.insert("modeOfTransport".into(), ctx.rv(mode)?);
    }
    let mut call = HttpCall::new(
        Method::POST,
        paths::ingestion(&ingestion_id),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body));
    // Ingestion needs only the bearer token.
    call.auth.key = false;
    Ok(call)
}

pub(super) fn truck_validation(
    a: &TruckValidationArgs,
    ctx: &VerbContext<'_>,
) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let carrier = a
        .carrier
        .as_ref()
        .map(|c| ctx.identification(c))
        .transpose()?;
    let mut items = Vec::new();
    let mut push = |equipment: &str, bls: &[String]| -> VResult<()> {
        let bls: Vec<String> = bls.iter().map(|b| ctx.r(b)).collect::<VResult<_>>()?;
        let mut item = json!({"equipmentNumber": ctx.r(equipment)?, "billOfLadingNumbers": bls});
        if let (Some(c), Some(obj)) = (&carrier, item.as_object_mut()) {
            obj.insert("carrier".into(), c.clone());
        }
        items.push(item);
        Ok(())
    };
    if let Some(eq) = &a.equipment {
        push(eq, &a.bill_of_lading_numbers)?;
    }
    for c in &a.containers {
        push(&c.equipment, &c.bill_of_lading_numbers)?;
    }
    if items.is_empty() {
        return Err("validate_truck_pickup needs `equipment` or `containers`".to_owned());
    }
    Ok(HttpCall::new(
        Method::POST,
        paths::truck_sync_validation(&locode),
        ctx.acting.map(str::to_owned),
    )
    .json(json!({"alfapassNumber": ctx.r(&a.alfapass)?, "releaseIdentification": items})))
}

fn means_of_transport_of(ctx: &VerbContext<'_>, operator_key: Option<&str>) -> Value {
    let mode = operator_key.and_then(|k| ctx.party_field(k, "transportMode"));
    match mode.as_deref() {
        Some("Truck") => json!(1),
        Some("Rail") => json!(3),
        _ => json!(2),
    }
}

pub(super) fn barge_rail_validation(
    a: &BargeRailValidationArgs,
    ctx: &VerbContext<'_>,
) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let operator = a
        .transport_operator
        .clone()
        .unwrap_or_else(|| Value::String("barge".to_owned()));
    let operator = ctx.rv(&operator)?;
    let operator_key = operator.as_str().map(str::to_owned);
    let bls: Vec<String> = a
        .bill_of_lading_numbers
        .iter()
        .map(|b| ctx.r(b))
        .collect::<VResult<_>>()?;
    let mut body = Map::new();
    body.insert("equipmentNumber".into(), json!(ctx.r(&a.equipment)?));
    body.insert("billOfLadingNumbers".into(), json!(bls));
    if let Some(id) = ctx.ro(a.release_id.as_ref())? {
        body.insert("releaseId".into(), json!(id));
    }
    body.insert(
        "meansOfTransport".into(),
        match &a.means_of_transport {
            Some(m) => ctx.rv(m)?,
            None => means_of_transport_of(ctx, operator_key.as_deref()),
        },
    );
    body.insert("transportOperator".into(), ctx.identification(&operator)?);
    if let Some(c) = &a.carrier {
        body.insert("carrier".into(), ctx.identification(c)?);
    }
    Ok(HttpCall::new(
        Method::POST,
        paths::barge_rail_sync_validation(&locode),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}

pub(super) fn alfapass_validation(
    a: &AlfapassValidationArgs,
    ctx: &VerbContext<'_>,
) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    Ok(HttpCall::new(
        Method::POST,
        paths::identification_validation(&locode),
        ctx.acting.map(str::to_owned),
    )
    .json(json!({
        "identificationType": ctx.ro(a.identification_type.as_ref())?.unwrap_or_else(|| "Alfapass".to_owned()),
        "identificationCode": ctx.r(&a.alfapass)?,
    })))
}

pub(super) fn ownership_validation(
    a: &OwnershipValidationArgs,
    ctx: &VerbContext<'_>,
) -> VResult<HttpCall> {
    let locode = ctx.locode(a.locode.as_ref())?;
    let mut body = Map::new();
    body.insert("portLoCode".into(), json!(locode));
    body.insert("ownerNxtEntityId".into(), json!(ctx.entity_id(&a.owner)?));
    if let Some(alfapass) = ctx.ro(a.alfapass.as_ref())? {
        body.insert("alfapassNumber".into(), json!(alfapass));
    }
    body.insert("equipmentNumber".into(), json!(ctx.r(&a.equipment)?));
    Ok(HttpCall::new(
        Method::POST,
        paths::truck_ownership_validation(&locode),
        ctx.acting.map(str::to_owned),
    )
    .json(Value::Object(body)))
}
