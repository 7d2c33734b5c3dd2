import OmniStrategy

/// The control plane's OpenAPI 3 document, served at GET /openapi.json: written by hand beside the
/// routes (ControlServer.routes) and checked against the live server by schemathesis
/// (OmniControlTests). The run's symbols and the parameters' ranges come from the same values the
/// server checks. GET /v1/stream (a WebSocket) is not in it: schemathesis cannot open a WebSocket,
/// and the path's plain GET answers 426, which its check of valid requests would count a failure.
public enum OpenAPIDocument {
    public static func json(symbols: [String]) -> String {
        let symbolEnum = "[" + symbols.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        func range(_ p: QuoteParameter) -> String { "\"minimum\": \(p.range.lowerBound), \"maximum\": \(p.range.upperBound)" }
        let errors = """
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"},
              "429": {"$ref": "#/components/responses/TooManyRequests"},
              "503": {"$ref": "#/components/responses/Unavailable"}
        """
        let symbolParameter = """
        "parameters": [{"name": "symbol", "in": "path", "required": true, "schema": {"type": "string", "enum": \(symbolEnum)}}]
        """
        func read(_ summary: String, _ schema: String, symbol: Bool = false) -> String {
            """
            "get": {"summary": "\(summary)", \(symbol ? symbolParameter + "," : "") "responses": {
              "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/\(schema)"}}}},
              \(symbol ? "\"404\": {\"$ref\": \"#/components/responses/NotFound\"}," : "")
              \(errors)}}
            """
        }
        func change(_ method: String, _ summary: String, body: String?, _ schema: String, symbol: Bool = false, conflict: Bool = false) -> String {
            """
            "\(method)": {"summary": "\(summary)", \(symbol ? symbolParameter + "," : "")
              \(body.map { "\"requestBody\": {\"required\": true, \"content\": {\"application/json\": {\"schema\": {\"$ref\": \"#/components/schemas/\($0)\"}}}}," } ?? "")
              "responses": {
              "200": {"description": "Applied by the trading loop; config_version is the version after it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/\(schema)"}}}},
              \(symbol ? "\"404\": {\"$ref\": \"#/components/responses/NotFound\"}," : "")
              \(conflict ? "\"409\": {\"$ref\": \"#/components/responses/Conflict\"}," : "")
              "504": {"$ref": "#/components/responses/NotAcknowledged"},
              \(errors)}}
            """
        }
        let ranged = QuoteParameter.allCases.map { "\"\($0.name)\": {\"type\": \"integer\", \(range($0))}" }.joined(separator: ", ")
        let percentiles = """
        {"type": "object", "required": ["p50_ns", "p99_ns", "count"], "properties": {"p50_ns": {"type": "integer", "minimum": 0}, "p99_ns": {"type": "integer", "minimum": 0}, "count": {"type": "integer", "minimum": 0}}}
        """
        return """
        {
          "openapi": "3.0.3",
          "info": {"title": "OmniAlpha control plane", "version": "1",
                   "description": "omni run's control plane: reads come from the trading loop's published snapshot (at most 100 ms old); changes are commands the loop applies between passes, answered with the configuration version it applied. Money in dollars."},
          "security": [{"bearer": []}],
          "paths": {
            "/v1/health": {"get": {"summary": "Liveness; no token needed", "security": [], "responses": {
              "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
            "/v1/status": {\(read("The loop at a glance", "Status"))},
            "/v1/strategies": {\(read("The strategy and its instruments", "Strategies"))},
            "/v1/instruments/{symbol}/params": {
              \(read("An instrument's quoting parameters", "InstrumentParams", symbol: true)),
              \(change("put", "Change quoting parameters (trader); 409 when the size is above the risk limit", body: "ParamsChange", "InstrumentParams", symbol: true, conflict: true))},
            "/v1/instruments/{symbol}/quoting": {
              \(change("post", "Quoting on or off (trader); off cancels the instrument's orders", body: "QuotingChange", "InstrumentParams", symbol: true))},
            "/v1/risk/limits": {
              \(read("Risk limits per instrument, versioned", "Limits")),
              \(change("put", "Change an instrument's limits: a trader may lower them, only a risk officer raises one, and a raise must carry expires_in_s (409 without): it reverts by itself at expiry", body: "LimitsChange", "Limits", conflict: true))},
            "/v1/kill": {\(change("post", "Trigger the kill switch (trader, risk officer): every open order canceled, nothing sent until a reset", body: nil, "KillState"))},
            "/v1/kill/reset": {\(change("post", "Reset the kill switch (risk officer); 409 when it is not on", body: nil, "KillState", conflict: true))},
            "/v1/positions": {\(read("Positions per instrument", "Positions"))},
            "/v1/orders": {\(read("Open orders (from the order journal) and rejects by reason", "Orders"))},
            "/v1/fills": {\(read("The last executions (at most 256), oldest first, from the order journal", "Fills"))},
            "/v1/pnl": {\(read("Realised and unrealised PnL per instrument", "PnL"))},
            "/v1/feed": {\(read("Feed and gateway health", "Feed"))},
            "/v1/latency": {\(read("Tick-to-trade and command-to-applied percentiles", "Latency"))},
            "/v1/quotes": {\(read("The touch (best bid and ask: the loop holds no depth) and our best quote per instrument", "Quotes"))},
            "/": {"get": {"summary": "The dashboard (HTML); no token needed: the page holds no data, each call it makes sends the token given to it", "security": [], "responses": {
              "200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
            "/v1/alerts": {\(read("The last 256 alerts (kill, limit breach, stale feed, gateway disconnect), oldest first", "Alerts"))},
            "/metrics": {"get": {"summary": "The loop's snapshot as Prometheus series (text format 0.0.4); any token (viewer and up)", "responses": {
              "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "403": {"$ref": "#/components/responses/Forbidden"},
              "429": {"$ref": "#/components/responses/TooManyRequests"},
              "503": {"$ref": "#/components/responses/Unavailable"}}}}
          },
          "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
              "BadRequest": {"description": "Bad input, named in the message", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "Unauthorized": {"description": "No valid bearer token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "Forbidden": {"description": "The token's role may not do this", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "TooManyRequests": {"description": "The token's rate limit is spent", "headers": {"Retry-After": {"required": true, "description": "seconds until the next request is allowed", "schema": {"type": "integer", "minimum": 1}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "NotFound": {"description": "No such path"},
              "Conflict": {"description": "The loop's state refuses it: config_version not the current one, a size above the risk limit, a reset while the switch is off, a raise without expires_in_s or a lowering with it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "Unavailable": {"description": "The trading loop has not started, or too many commands wait", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "NotAcknowledged": {"description": "The trading loop did not acknowledge in time", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            },
            "schemas": {
              "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
              "Health": {"type": "object", "required": ["status", "loop", "config_version"], "properties": {
                "status": {"type": "string"}, "loop": {"type": "string", "enum": ["starting", "running"]}, "config_version": {"type": "integer", "minimum": 0}}},
              "Status": {"type": "object", "required": ["config_version", "killed", "open_orders", "fills", "net_pnl", "tick_to_trade_p50_ns", "tick_to_trade_p99_ns", "feed_stale", "gateway_up"], "properties": {
                "config_version": {"type": "integer"}, "killed": {"type": "boolean"}, "kill_reason": {"$ref": "#/components/schemas/KillReason"},
                "open_orders": {"type": "integer"}, "fills": {"type": "integer"}, "net_pnl": {"type": "number"},
                "tick_to_trade_p50_ns": {"type": "integer"}, "tick_to_trade_p99_ns": {"type": "integer"}, "feed_stale": {"type": "boolean"}, "gateway_up": {"type": "boolean"}}},
              "KillReason": {"type": "string", "enum": ["command", "daily_loss", "signal", "disconnect", "stale_feed"]},
              "Strategies": {"type": "object", "required": ["config_version", "strategies"], "properties": {
                "config_version": {"type": "integer"},
                "strategies": {"type": "array", "items": {"type": "object", "required": ["name", "parameters", "instruments"], "properties": {
                  "name": {"type": "string"}, "parameters": {"type": "array", "items": {"type": "string"}},
                  "instruments": {"type": "array", "items": {"type": "object", "required": ["symbol", "quoting"], "properties": {
                    "symbol": {"type": "string"}, "quoting": {"type": "boolean"}}}}}}}}},
              "InstrumentParams": {"type": "object", "required": ["symbol", "quoting", "max_position", "config_version"], "properties": {
                "symbol": {"type": "string"}, "quoting": {"type": "boolean"}, "spread_ticks": {"type": "integer"}, "size": {"type": "integer"},
                "skew_shares": {"type": "integer"}, "max_position": {"type": "integer"}, "config_version": {"type": "integer"}}},
              "ParamsChange": {"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {\(ranged)}},
              "QuotingChange": {"type": "object", "additionalProperties": false, "required": ["quoting"], "properties": {"quoting": {"type": "boolean"}}},
              "Limits": {"type": "object", "required": ["config_version", "instruments"], "properties": {
                "config_version": {"type": "integer"},
                "instruments": {"type": "array", "items": {"type": "object", "required": ["symbol", "max_order_qty", "max_position"], "properties": {
                  "symbol": {"type": "string"}, "max_order_qty": {"type": "integer"}, "max_position": {"type": "integer"},
                  "override": {"type": "object", "description": "a raise waiting to revert", "required": ["expires_at", "expires_in_s", "reverts_to_max_order_qty", "reverts_to_max_position", "by"], "properties": {
                    "expires_at": {"type": "string", "format": "date-time"}, "expires_in_s": {"type": "integer", "minimum": 0},
                    "reverts_to_max_order_qty": {"type": "integer"}, "reverts_to_max_position": {"type": "integer"}, "by": {"type": "string"}}}}}}}},
              "LimitsChange": {"type": "object", "additionalProperties": false, "required": ["symbol"],
                "anyOf": [{"required": ["max_order_qty"]}, {"required": ["max_position"]}], "properties": {
                "symbol": {"type": "string", "enum": \(symbolEnum)},
                "max_order_qty": {"type": "integer", "minimum": 1, "maximum": 4294967295},
                "max_position": {"type": "integer", "minimum": 0, "maximum": 1000000000},
                "config_version": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807, "description": "when given, the change applies only at this version (else 409)"},
                "expires_in_s": {"type": "integer", "minimum": 1, "maximum": \(LimitOverride.longestSeconds), "description": "required for a raise, refused for a lowering: seconds until the limits revert by themselves"}}},
              "KillState": {"type": "object", "required": ["killed", "config_version"], "properties": {
                "killed": {"type": "boolean"}, "reason": {"$ref": "#/components/schemas/KillReason"}, "config_version": {"type": "integer"}}},
              "Positions": {"type": "object", "required": ["config_version", "instruments"], "properties": {
                "config_version": {"type": "integer"},
                "instruments": {"type": "array", "items": {"type": "object", "required": ["symbol", "position", "bought_shares", "sold_shares", "fills", "working_buy", "working_sell"], "properties": {
                  "symbol": {"type": "string"}, "position": {"type": "integer"}, "bought_shares": {"type": "integer"}, "sold_shares": {"type": "integer"},
                  "fills": {"type": "integer"}, "working_buy": {"type": "integer"}, "working_sell": {"type": "integer"}}}}}},
              "Orders": {"type": "object", "required": ["open_orders", "requests", "refused_by_risk", "not_sent", "venue_rejected", "fills", "rejects_by_reason", "open", "journal_dropped", "not_stored"], "properties": {
                "open_orders": {"type": "integer"}, "requests": {"type": "integer"}, "refused_by_risk": {"type": "integer"}, "not_sent": {"type": "integer"},
                "venue_rejected": {"type": "integer"}, "fills": {"type": "integer"},
                "rejects_by_reason": {"type": "object", "additionalProperties": {"type": "integer"}},
                "open": {"type": "array", "items": {"type": "object", "required": ["symbol", "client_order_id", "side", "price", "shares", "state"], "properties": {
                  "symbol": {"type": "string"}, "client_order_id": {"type": "integer", "minimum": 0}, "side": {"type": "string", "enum": ["buy", "sell"]},
                  "price": {"type": "number"}, "shares": {"type": "integer", "minimum": 0},
                  "state": {"type": "string", "enum": ["pending new", "live", "pending cancel", "pending replace"]}}}},
                "journal_dropped": {"type": "integer", "minimum": 0}, "not_stored": {"type": "integer", "minimum": 0}}},
              "Fills": {"type": "object", "required": ["fills"], "properties": {
                "fills": {"type": "array", "items": {"type": "object", "required": ["type", "at", "symbol", "client_order_id", "side", "price", "shares", "leaves", "liquidity", "match_number"], "properties": {
                  "type": {"type": "string", "enum": ["fill"]}, "at": {"type": "string", "format": "date-time"}, "symbol": {"type": "string"}, "client_order_id": {"type": "integer", "minimum": 0},
                  "side": {"type": "string", "enum": ["buy", "sell"]}, "price": {"type": "number"}, "shares": {"type": "integer", "minimum": 0},
                  "leaves": {"type": "integer", "minimum": 0}, "liquidity": {"type": "string", "enum": ["added", "removed", "unknown"]},
                  "match_number": {"type": "integer", "minimum": 0}}}}}},
              "PnL": {"type": "object", "required": ["instruments", "total"], "properties": {
                "instruments": {"type": "array", "items": {"type": "object", "required": ["symbol", "realised", "unrealised", "fees", "net"], "properties": {
                  "symbol": {"type": "string"}, "realised": {"type": "number"}, "unrealised": {"type": "number"}, "fees": {"type": "number"}, "net": {"type": "number"}}}},
                "total": {"type": "object", "required": ["realised", "unrealised", "fees", "net"], "properties": {
                  "realised": {"type": "number"}, "unrealised": {"type": "number"}, "fees": {"type": "number"}, "net": {"type": "number"}}}}},
              "Feed": {"type": "object", "required": ["stale", "gateway_up", "packets", "delivered", "messages_per_second", "gaps_opened", "gaps_filled", "gaps_lost"], "properties": {
                "last_packet_age_ms": {"type": "number"}, "stale": {"type": "boolean"}, "gateway_up": {"type": "boolean"},
                "packets": {"type": "integer"}, "delivered": {"type": "integer"}, "messages_per_second": {"type": "number"},
                "gaps_opened": {"type": "integer"}, "gaps_filled": {"type": "integer"}, "gaps_lost": {"type": "integer"}}},
              "Quotes": {"type": "object", "required": ["config_version", "instruments"], "properties": {
                "config_version": {"type": "integer"},
                "instruments": {"type": "array", "items": {"type": "object", "required": ["symbol", "quoting", "our_bid_shares", "our_ask_shares"], "properties": {
                  "symbol": {"type": "string"}, "quoting": {"type": "boolean"}, "bid": {"type": "number"}, "ask": {"type": "number"},
                  "our_bid": {"type": "number"}, "our_bid_shares": {"type": "integer", "minimum": 0},
                  "our_ask": {"type": "number"}, "our_ask_shares": {"type": "integer", "minimum": 0}}}}}},
              "Alerts": {"type": "object", "required": ["alerts"], "properties": {
                "alerts": {"type": "array", "items": {"type": "object", "required": ["id", "at", "kind", "severity", "message"], "properties": {
                  "id": {"type": "integer", "minimum": 1}, "at": {"type": "string", "format": "date-time"},
                  "kind": {"type": "string", "enum": [\(AlertKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))]},
                  "severity": {"type": "string", "enum": ["critical", "error", "warning"]},
                  "check": {"type": "string"}, "refusals": {"type": "integer", "minimum": 1}, "message": {"type": "string"}}}}}},
              "Latency": {"type": "object", "required": ["tick_to_trade", "command_applied"], "properties": {
                "tick_to_trade": \(percentiles), "command_applied": \(percentiles)}}
            }
          }
        }
        """
    }
}
