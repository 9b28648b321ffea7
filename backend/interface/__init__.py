"""What the entry layers (backend/api, backend/web) share, below both: the scope a route or page
declares (`scopes`), the marshmallow fields of the contract (`fields`) and the input schemas both
validate with (`inputs`), so a form in the web app is checked exactly like the API's JSON."""
