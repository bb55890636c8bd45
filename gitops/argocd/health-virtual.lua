-- Argo CD health check for multi-mcp.io/McpVirtualServer, from the status the operator writes.
-- Healthy: served on every proxy replica with every McpServer it names. Progressing: the operator
-- has not yet seen this generation, or not every replica has it yet. Degraded: refused, or a named
-- McpServer is not served, with the operator's message.
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
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready.reason == "NotSynced" or ready.reason == "PartiallySynced" or ready.reason == "NoReplicas" then
  hs.status = "Progressing"
  hs.message = ready.message or ""
  return hs
end
hs.status = "Degraded"
local accepted = condition("Accepted")
if accepted ~= nil and accepted.status == "False" then
  hs.message = accepted.message or accepted.reason or "not accepted"
else
  hs.message = ready.message or ready.reason or "not Ready"
end
return hs
