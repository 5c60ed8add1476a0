import { BrowseChannels } from "@/components/BrowseChannels";

export default function BrowsePage() {
  return <BrowseChannels />;
}
