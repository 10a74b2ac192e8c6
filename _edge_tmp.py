import sys, argparse
import inference_server.pipeline.remove as rm
from tests.benchmarks import shadow_benchmark as sb
px = int(sys.argv[1]); rm.SHADOW_EDGE_PX = px
args = argparse.Namespace(scenes=40, sizes=[256], quality="balanced", finders=("hybrid",), removal_finders=("hybrid",), no_removal=False)
rows = sb.run(args)
r = rows[256]; print("edge", px, "true", round(r["true_mask_error"],3), "hybrid", round(r["hybrid"]["error"],3), "ratio", round(r["hybrid"]["error_ratio"],3), flush=True)
