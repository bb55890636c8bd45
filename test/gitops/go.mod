module github.com/multi-mcp/multi-mcp/test/gitops

go 1.24

require github.com/yuin/gopher-lua v1.1.2
