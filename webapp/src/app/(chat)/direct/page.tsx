import { StartDirect } from "@/components/StartDirect";

export default function DirectPage() {
  return <StartDirect />;
}
