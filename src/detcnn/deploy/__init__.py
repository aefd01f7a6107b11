"""Taking a trained network out of the pipeline: as an MLflow model (:mod:`.mlflow_model`, loadable with
``mlflow.pyfunc``) and as an ONNX file for the C++ frameworks that run ONNX Runtime (:mod:`.onnx_export`)."""
