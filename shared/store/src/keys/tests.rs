use super::*;
use crate::ApiKeyFilter;

#[test]
fn list_partitions_agree_with_what_key_items_store() {
    let tenant = TenantId::parse("t1").expect("valid");
    let (app, arx) = (ApplicationId::new(), ArxId::new());
    let status = ApiKeyStatus::Active;
    let owner = domain::ExternalId::parse("org#42").expect("valid");
    let query = |filter: ApiKeyFilter| ApiKeyQuery {
        filter,
        ..Default::default()
    };
    let cases = [
        (
            ApiKeyFilter::default(),
            ApiKeyIndex::Table,
            tenant_pk(&tenant),
        ),
        (
            ApiKeyFilter {
                application_id: Some(app.clone()),
                ..Default::default()
            },
            ApiKeyIndex::ByApplication,
            keys_by_application_pk(&tenant, &app),
        ),
        (
            ApiKeyFilter {
                arx_id: Some(arx.clone()),
                ..Default::default()
            },
            ApiKeyIndex::ByArx,
            keys_by_arx_pk(&tenant, &arx),
        ),
        (
            ApiKeyFilter {
                status: Some(status),
                ..Default::default()
            },
            ApiKeyIndex::ByStatus,
            keys_by_status_pk(&tenant, status),
        ),
        (
            ApiKeyFilter {
                external_id: Some(owner.clone()),
                application_id: Some(app.clone()),
                ..Default::default()
            },
            ApiKeyIndex::ByOwner,
            keys_by_owner_pk(&tenant, &owner),
        ),
    ];
    for (filter, index, partition) in cases {
        assert_eq!(
            api_key_list_partition(&tenant, &query(filter)),
            (index, partition)
        );
    }
    let mut consistent = query(ApiKeyFilter {
        application_id: Some(app),
        ..Default::default()
    });
    consistent.consistent = true;
    assert_eq!(
        api_key_list_partition(&tenant, &consistent).0,
        ApiKeyIndex::Table
    );
}
