"""The Lambda functions: thin aws-lambda-powertools handlers over orchestrator_runtime.

On AWS each folder is one function's CodeUri (handler ``app.handler``) and the runtime package
comes from a layer, so handlers import with absolute names only.
"""
