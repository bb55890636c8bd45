-- Argo CD health check for multi-mcp.io/McpServer, from the status the operator writes.
-- Healthy: Ready on every proxy replica. Progressing: the operator has not yet seen this
-- generation, or is still connecting / partially synced. Degraded: not Ready, with its message,
-- or tools quarantined because their definition no longer matches their pin (ToolsDrifted).
-- Suspended: spec.disabled.
local hs = {}
local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

if obj.status == nil or obj.status.observedGeneration == nil
    or obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
  return hs
end

local ready = condition("Ready")
local synced = condition("Synced")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
local drifted = condition("ToolsDrifted")
if drifted ~= nil and drifted.status == "True" then
  hs.status = "Degraded"
  hs.message = drifted.message or "tools quarantined: their definition changed since it was pinned"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready.reason == "Disabled" then
  hs.status = "Suspended"
  hs.message = ready.message or ""
  return hs
end
if ready.reason == "Connecting" or ready.reason == "DeploymentNotAvailable"
    or (synced ~= nil and synced.reason == "PartiallySynced") then
  hs.status = "Progressing"
  hs.message = ready.message or ""
  if synced ~= nil and synced.status ~= "True" and synced.message ~= nil then
    hs.message = hs.message .. "; " .. synced.message
  end
  return hs
end
hs.status = "Degraded"
hs.message = ready.message or ready.reason or "not Ready"
return hs
