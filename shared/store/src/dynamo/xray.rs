//! Each DynamoDB call as an X-Ray subsegment when tracing is on (the stack's
//! `Tracing` parameter): an SDK interceptor notes when the operation began
//! and, when it ends, hands its name, time and outcome to
//! [`telemetry::xray::record`], which sends nothing unless the invocation is
//! sampled and Lambda runs the X-Ray daemon. One interceptor on the client
//! covers every store call, whichever method makes it.

use std::time::SystemTime;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// When the operation under way began.
#[derive(Debug, Clone, Copy)]
struct Began(SystemTime);

impl Storable for Began {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug)]
pub(super) struct XrayCalls {
    pub(super) table: String,
}

impl Intercept for XrayCalls {
    fn name(&self) -> &'static str {
        "XrayCalls"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Began(SystemTime::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (Some(began), Some(metadata)) = (cfg.load::<Began>(), cfg.load::<Metadata>()) else {
            return Ok(());
        };
        let failed = !matches!(context.output_or_error(), Some(Ok(_)));
        telemetry::xray::record(&telemetry::xray::Call {
            service: "DynamoDB",
            operation: metadata.name(),
            table: Some(&self.table),
            started: began.0,
            ended: SystemTime::now(),
            failed,
        });
        Ok(())
    }
}
