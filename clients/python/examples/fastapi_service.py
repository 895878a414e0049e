# A FastAPI service whose /documents route needs a good API key, and whose
# /reports route a key with the `reports.read` permission.
import os

from fastapi import Depends, FastAPI

from api_keys_manager import AsyncClient, Verdict
from api_keys_manager.fastapi import require_key

keys = AsyncClient(os.environ["API_URL"], service_key=os.environ["SERVICE_KEY"])
app = FastAPI()


@app.get("/documents")
async def documents(verdict: Verdict = Depends(require_key(keys))):
    return {"application": verdict.application_id, "arx": verdict.arx_id}


@app.get("/reports")
async def reports(verdict: Verdict = Depends(require_key(keys, permissions="reports.read"))):
    return {"owner": verdict.external_id, "permissions": list(verdict.permissions)}
