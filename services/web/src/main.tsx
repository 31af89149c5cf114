import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { registerServiceWorker } from "./app/worker";
import "./styles.css";

const root = document.getElementById("root");
if (root) createRoot(root).render(<App />);
registerServiceWorker();
